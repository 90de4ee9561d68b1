/**
 * What instances sharing a lane keep in one place (Redis in production, a fake in unit tests):
 * the lane's slots (leases held by requests in flight, fleet-wide), its adaptive limit, its
 * HTTP/1.1 cool-down, its plan walls and the instances seen. Every operation may fail (the
 * store unreachable or past its deadline): callers then use their local state, never fail a request.
 */
export interface Fleet {
  /** The store answered its last operation (false: callers use their local limiter). */
  readonly up: boolean;
  /** Takes a slot for `holder` when fewer than the fleet's limit are held (expired leases first removed). */
  acquire(lane: string, holder: string, leaseMs: number, rule: LimitRule): Promise<SlotAnswer>;
  release(lane: string, holder: string): Promise<void>;
  /** Extends the leases of holders still holding (an expired lease is not revived); how many were. */
  renew(lane: string, holders: readonly string[], leaseMs: number): Promise<number>;
  /**
   * A burst or overload verdict. With admitted streams flowing, the limit goes to that many (for a
   * concurrency refusal, `concurrency`, also the ceiling for the quiet spell); else engage at half
   * the slots in use, or halve (once per decreaseEveryMs). `holder`: the refused request's, not
   * one the provider took (it may have flowed, refused after its message_start). The limit after it.
   */
  overload(lane: string, rule: LimitRule, concurrency?: boolean, holder?: string): Promise<number>;
  /** An admitted stream (its holder flowing while it holds its slot): the limit grows by 1/limit, up to max and the ceiling. The limit after it. */
  success(lane: string, rule: LimitRule, holder?: string): Promise<number>;
  /** HTTP/1.1 for the whole fleet on this lane for `ms`. */
  cooldown(lane: string, ms: number): Promise<void>;
  /** A plan wall of the lane's own key, held until `wall.until` (epoch ms). */
  wall(lane: string, wall: SharedWall): Promise<void>;
  /** This instance is alive and serves these lanes, for `ttlMs`. */
  heartbeat(instance: string, lanes: readonly string[], ttlMs: number): Promise<void>;
  /** What status shows and the instances follow: instances, slots, limit, cool-down, walls. */
  /** `horizonMs`: how far ahead a lease or heartbeat can end (twice the lease); anything later is another tenant's junk. */
  view(lane: string, rule: LimitRule, horizonMs: number): Promise<LaneView>;
  close(): void;
}

/** How the shared adaptive limit behaves: as the local AdaptiveLimiter's options. */
export interface LimitRule {
  /** max_concurrency; 0 when none (adaptive only: engaged by the first overload, let go after quietMs). */
  readonly max: number;
  readonly quietMs: number;
  readonly decreaseEveryMs: number;
}

export interface SlotAnswer {
  readonly granted: boolean;
  /** Slots held fleet-wide after this answer. */
  readonly inUse: number;
  /** The fleet's limit in force; Infinity when none is engaged. */
  readonly limit: number;
  /** Milliseconds left of the lane's shared HTTP/1.1 cool-down (0: none). */
  readonly h1Ms: number;
}

export interface SharedWall {
  readonly window: string;
  /** When the provider said it resets (epoch ms), or null. */
  readonly resetsAt: number | null;
  readonly code: string;
  /** Epoch ms the wall is held until (its reset, or the default hold when the provider said none). */
  readonly until: number;
}

export interface LaneView {
  /** Instances whose heartbeat has not expired, by name. */
  readonly instances: readonly string[];
  /** Slots held, by the instance holding them. */
  readonly slots: Readonly<Record<string, number>>;
  readonly inUse: number;
  readonly limit: number;
  readonly h1Ms: number;
  readonly walls: readonly SharedWall[];
}

/** A slot holder's id: the instance's name, then a number; the instance is what precedes the last "/". */
export const holderId = (instance: string, n: number) => `${instance}/${n}`;
export const holderInstance = (holder: string) => holder.slice(0, Math.max(0, holder.lastIndexOf("/")));

/** An instance name shaped as ccp writes one (`<instance>:<port>`); anything else read from Redis is not shown. */
export const plainInstance = (name: string): boolean => /^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$/.test(name);

/**
 * The lane's keys. The braces are a Redis Cluster hash tag: a lane's keys live on one node,
 * so one script may touch them all.
 */
export const laneKeys = (lane: string) => ({
  slots: `ccp:{${lane}}:slots`,
  limit: `ccp:{${lane}}:limit`,
  flowing: `ccp:{${lane}}:flowing`,
  h1: `ccp:{${lane}}:h1`,
  walls: `ccp:{${lane}}:walls`,
  instances: `ccp:{${lane}}:instances`,
});
