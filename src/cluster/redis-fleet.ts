import { MAX_RESET_AHEAD_MS } from "../quota/book.ts";
import { type Fleet, type LaneView, laneKeys, type LimitRule, plainInstance, type SharedWall, type SlotAnswer, holderInstance } from "./fleet.ts";
import { ACQUIRE, HEARTBEAT, OVERLOAD, RELEASE, RENEW, SUCCESS, VIEW, WALL } from "./lua.ts";
import type { RedisLink } from "./redis-link.ts";

/** A limit as the scripts send it: '' for none engaged. */
const limitOf = (v: unknown): number => (v === "" || v === null || v === undefined ? Number.POSITIVE_INFINITY : Number(v));

/** The fleet's state in Redis, one script per operation (lua.ts), through the link's deadline. */
export class RedisFleet implements Fleet {
  constructor(readonly link: RedisLink) {}

  get up(): boolean {
    return this.link.up;
  }

  async acquire(lane: string, holder: string, leaseMs: number, rule: LimitRule): Promise<SlotAnswer> {
    const k = laneKeys(lane);
    const [granted, inUse, limit, h1Ms] = (await this.link.eval(ACQUIRE, [k.slots, k.limit, k.h1, k.flowing], [holder, leaseMs, rule.max, rule.quietMs])) as [number, number, string, number];
    return { granted: granted === 1, inUse, limit: limitOf(limit), h1Ms };
  }

  async release(lane: string, holder: string): Promise<void> {
    const k = laneKeys(lane);
    await this.link.eval(RELEASE, [k.slots, k.flowing], [holder]);
  }

  async renew(lane: string, holders: readonly string[], leaseMs: number): Promise<number> {
    if (holders.length === 0) return 0;
    return Number(await this.link.eval(RENEW, [laneKeys(lane).slots], [leaseMs, ...holders]));
  }

  async overload(lane: string, rule: LimitRule, concurrency = false, holder = ""): Promise<number> {
    const k = laneKeys(lane);
    return limitOf(await this.link.eval(OVERLOAD, [k.slots, k.limit, k.flowing], [rule.max, rule.quietMs, rule.decreaseEveryMs, concurrency ? 1 : 0, holder]));
  }

  async success(lane: string, rule: LimitRule, holder = ""): Promise<number> {
    const k = laneKeys(lane);
    return limitOf(await this.link.eval(SUCCESS, [k.limit, k.slots, k.flowing], [rule.max, rule.quietMs, holder]));
  }

  async cooldown(lane: string, ms: number): Promise<void> {
    await this.link.send("SET", [laneKeys(lane).h1, "1", "PX", String(Math.max(1, Math.round(ms)))]);
  }

  async wall(lane: string, wall: SharedWall): Promise<void> {
    const ttl = Math.max(1, Math.round(wall.until - Date.now()));
    await this.link.eval(WALL, [laneKeys(lane).walls], [wall.window, JSON.stringify(wall), ttl]);
  }

  async heartbeat(instance: string, lanes: readonly string[], ttlMs: number): Promise<void> {
    if (lanes.length === 0) return;
    await this.link.eval(
      HEARTBEAT,
      lanes.map((l) => laneKeys(l).instances),
      [instance, ttlMs],
    );
  }

  async view(lane: string, rule: LimitRule, horizonMs: number): Promise<LaneView> {
    const k = laneKeys(lane);
    const [instances, holders, limit, h1Ms, walls, held] = (await this.link.eval(VIEW, [k.slots, k.limit, k.h1, k.walls, k.instances], [rule.max, rule.quietMs, horizonMs])) as [
      string[],
      string[],
      string,
      number,
      string[],
      number,
    ];
    // Redis is shared: only names shaped as ccp writes them are shown (no escape codes reach a terminal).
    const slots: Record<string, number> = {};
    for (const h of holders) if (plainInstance(holderInstance(h))) slots[holderInstance(h)] = (slots[holderInstance(h)] ?? 0) + 1;
    const now = Date.now();
    const believed = (w: SharedWall | undefined): w is SharedWall => w !== undefined && w.until > now && w.until - now <= MAX_RESET_AHEAD_MS;
    return { instances: instances.filter(plainInstance), slots, inUse: Number(held), limit: limitOf(limit), h1Ms, walls: walls.map(parseWall).filter(believed) };
  }

  close(): void {
    this.link.close();
  }
}

const PLAIN_WORD = /^[A-Za-z0-9_]{1,32}$/;

/** A wall as another instance wrote it; anything malformed is ignored (Redis is shared, not trusted to be tidy). */
function parseWall(text: string): SharedWall | undefined {
  try {
    const w = JSON.parse(text) as Partial<SharedWall>;
    if (typeof w.window !== "string" || typeof w.code !== "string" || typeof w.until !== "number") return undefined;
    // A window and a code are plain words ("5h", "1308", "rejected"), as ccp writes them: anything else is not a wall.
    if (!PLAIN_WORD.test(w.window) || !PLAIN_WORD.test(w.code)) return undefined;
    const resetsAt = typeof w.resetsAt === "number" && Number.isFinite(w.resetsAt) ? w.resetsAt : null;
    return { window: w.window, code: w.code, resetsAt, until: w.until };
  } catch {
    return undefined;
  }
}
