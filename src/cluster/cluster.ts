import type { Config, Lane } from "../config/config.ts";
import type { QuotaDesk } from "../quota/desk.ts";
import type { LaneShare } from "../resilience/lane-runtime.ts";
import type { AdaptiveLimiter } from "../resilience/limiter.ts";
import type { Fleet, LaneView, LimitRule } from "./fleet.ts";
import { RedisFleet } from "./redis-fleet.ts";
import { type LinkLog, RedisLink } from "./redis-link.ts";
import { SharedLimiter } from "./shared-limiter.ts";
import { applySharedWalls, wallToShare } from "./shared-walls.ts";

/** As the local limiter's defaults (limiter.ts): the shared limit adapts the same way. */
const QUIET_MS = 60_000;
const DECREASE_EVERY_MS = 250;

/** What `GET /status` and `ccp status` show of the fleet. */
export interface ClusterStatus {
  /** The Redis URL, its password masked. */
  readonly redis: string;
  readonly connected: boolean;
  /** This instance's name in the fleet. */
  readonly instance: string;
  readonly lease_ms: number;
  readonly fallbacks: number;
  readonly rejoins: number;
  readonly lanes: readonly SharedLaneStatus[];
}

export interface SharedLaneStatus {
  readonly name: string;
  /** Instances whose heartbeat is current. */
  readonly instances: readonly string[];
  readonly slots_in_use: number;
  /** Slots held, by instance. */
  readonly slots: Readonly<Record<string, number>>;
  /** The fleet's limit; null while none is engaged. */
  readonly limit: number | null;
  /** Seconds left of the fleet's HTTP/1.1 cool-down (0: none). */
  readonly h1_cooldown_s: number;
}

export interface ClusterDeps {
  /** The fleet's store (tests); default Redis at the config's redis_url. */
  readonly fleet?: Fleet;
  readonly redact?: (text: string) => string;
  /** Wall-clock milliseconds (walls). */
  readonly clock?: () => number;
}

/**
 * The instance's membership of a fleet: the shared lanes' limiters, the heartbeat that tells
 * the others it is alive, and a sync every third of the lease (at most 5 s) that reads what
 * status shows and brings in the walls other instances met.
 */
export class Cluster {
  readonly fleet: Fleet;
  readonly link: RedisLink | undefined;
  readonly limiters = new Map<string, SharedLimiter>();
  readonly #views = new Map<string, LaneView>();
  readonly #lanes: readonly Lane[];
  readonly #syncMs: number;
  readonly #clock: () => number;
  #instance: string;
  #timer: ReturnType<typeof setInterval> | undefined;
  #desk: QuotaDesk | undefined;

  /** A fleet when the config names a Redis and marks a lane shared; else undefined (nothing changes). */
  static of(config: Config, log: LinkLog, deps: ClusterDeps = {}): Cluster | undefined {
    const url = config.cluster.redis_url;
    const lanes = Object.values(config.lanes).filter((l) => l.shared);
    if ((url === undefined && deps.fleet === undefined) || lanes.length === 0) return undefined;
    return new Cluster(config, lanes, log, deps);
  }

  private constructor(
    readonly config: Config,
    lanes: readonly Lane[],
    readonly log: LinkLog,
    deps: ClusterDeps,
  ) {
    this.#lanes = lanes;
    this.link = deps.fleet ? undefined : new RedisLink(config.cluster.redis_url!, log, { opTimeoutMs: config.cluster.op_timeout_ms, redact: deps.redact });
    this.fleet = deps.fleet ?? new RedisFleet(this.link!);
    this.#syncMs = Math.min(5_000, Math.max(200, Math.floor(config.cluster.lease_ms / 3)));
    this.#clock = deps.clock ?? Date.now;
    this.#instance = `pid-${process.pid}`;
  }

  get instance(): string {
    return this.#instance;
  }

  /** The lane's share (its limiter and cool-down are the fleet's), or undefined when it is not shared. */
  share(lane: Lane, local: AdaptiveLimiter): LaneShare | undefined {
    if (!lane.shared) return undefined;
    const limiter = new SharedLimiter({
      lane: lane.name,
      fleet: this.fleet,
      local,
      instance: () => this.#instance,
      instances: () => this.#views.get(lane.name)?.instances.length ?? 1,
      leaseMs: this.config.cluster.lease_ms,
      rule: this.rule(lane),
      queueMax: lane.queue_max,
      queueTimeoutMs: lane.queue_timeout_ms,
    });
    this.limiters.set(lane.name, limiter);
    return {
      limiter,
      h1Until: () => (this.fleet.up ? limiter.h1Until : 0),
      downgraded: (ms) => {
        if (this.fleet.up) this.fleet.cooldown(lane.name, ms).catch(() => {});
      },
    };
  }

  rule(lane: Lane): LimitRule {
    return { max: lane.max_concurrency, quietMs: QUIET_MS, decreaseEveryMs: DECREASE_EVERY_MS };
  }

  /** Walls of the shared lanes' own keys go to the fleet; the fleet's come into this desk's book. */
  attachQuota(desk: QuotaDesk): void {
    this.#desk = desk;
    desk.wallListeners.push((lane, credential, wall) => {
      const shared = lane.shared ? wallToShare(credential, wall, this.#clock()) : undefined;
      if (shared && this.fleet.up) this.fleet.wall(lane.name, shared).catch(() => {});
    });
  }

  /** Joins under this name (host:port) and starts the heartbeat and sync. */
  async start(instance: string): Promise<void> {
    this.#instance = instance;
    await this.link?.start();
    await this.sync();
    this.#timer = setInterval(() => void this.sync(), this.#syncMs);
    this.#timer.unref?.();
  }

  /** One heartbeat and one read of each shared lane; nothing when the fleet is down. */
  async sync(): Promise<void> {
    if (!this.fleet.up) return;
    const names = this.#lanes.map((l) => l.name);
    try {
      await this.fleet.heartbeat(this.#instance, names, this.#syncMs * 3);
    } catch {
      return; // the link logged the fall-back
    }
    await this.refresh();
  }

  /** Reads each shared lane (what status shows, the walls others met); each read within op_timeout_ms. */
  async refresh(): Promise<void> {
    if (!this.fleet.up) return;
    try {
      for (const lane of this.#lanes) {
        const view = await this.fleet.view(lane.name, this.rule(lane), 2 * this.config.cluster.lease_ms);
        this.#views.set(lane.name, view);
        this.limiters.get(lane.name)?.heard(view);
        const fresh = this.#desk ? applySharedWalls(this.#desk, lane, view.walls) : [];
        for (const w of fresh) this.log.info(`lane ${lane.name}: plan limit reached (${w.window}, ${w.code}), as another instance of the fleet met it`);
      }
    } catch {
      // The link logged the fall-back; the next sync after it re-joins reads again.
    }
  }

  status(): ClusterStatus {
    return {
      redis: this.link?.shown ?? "(fake)",
      connected: this.fleet.up,
      instance: this.#instance,
      lease_ms: this.config.cluster.lease_ms,
      fallbacks: this.link?.fallbacks ?? 0,
      rejoins: this.link?.rejoins ?? 0,
      lanes: this.#lanes.map((lane) => {
        const v = this.#views.get(lane.name);
        const limit = v?.limit ?? Number.POSITIVE_INFINITY;
        return {
          name: lane.name,
          instances: v ? [...v.instances].sort() : [],
          slots_in_use: v?.inUse ?? 0,
          slots: v?.slots ?? {},
          limit: Number.isFinite(limit) ? Math.round(limit * 100) / 100 : null,
          h1_cooldown_s: Math.ceil((v?.h1Ms ?? 0) / 1000),
        };
      }),
    };
  }

  close(): void {
    clearInterval(this.#timer);
    for (const l of this.limiters.values()) l.close();
    this.fleet.close();
  }
}
