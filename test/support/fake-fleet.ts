import type { Fleet, LaneView, LimitRule, SharedWall, SlotAnswer } from "../../src/cluster/fleet.ts";
import { holderInstance } from "../../src/cluster/fleet.ts";

/**
 * The fleet's store in memory, for unit tests of what uses it: a semaphore with leases and a
 * limit (set by `limit`, or halved/grown by verdicts), and switches for an outage (`down()`:
 * every operation fails, as the Redis link does past its deadline) and a recovery (`back()`).
 */
export class FakeFleet implements Fleet {
  up = true;
  limit = Number.POSITIVE_INFINITY;
  readonly slots = new Map<string, number>(); // holder -> lease end (ms)
  /** Holders whose stream was admitted; the ceiling the last overload with some flowing showed (no quiet spell here). */
  readonly flowing = new Set<string>();
  ceiling = Number.POSITIVE_INFINITY;
  readonly calls: string[] = [];
  readonly walls: SharedWall[] = [];
  h1Until = 0;
  #instances = new Map<string, number>();

  down(): void {
    this.up = false;
  }
  back(): void {
    this.up = true;
  }

  #check(op: string): void {
    this.calls.push(op);
    if (!this.up) throw new Error("fleet down");
  }
  #expire(): void {
    const now = Date.now();
    for (const [h, end] of this.slots) if (end <= now) this.slots.delete(h);
  }

  async acquire(_lane: string, holder: string, leaseMs: number, rule: LimitRule): Promise<SlotAnswer> {
    this.#check("acquire");
    this.#expire();
    const limit = rule.max > 0 ? Math.min(rule.max, this.limit) : this.limit;
    const granted = this.slots.size < Math.max(1, Math.floor(limit));
    if (granted) this.slots.set(holder, Date.now() + leaseMs);
    return { granted, inUse: this.slots.size, limit, h1Ms: Math.max(0, this.h1Until - Date.now()) };
  }
  async release(_lane: string, holder: string): Promise<void> {
    this.#check("release");
    this.slots.delete(holder);
    this.flowing.delete(holder);
  }
  async renew(_lane: string, holders: readonly string[], leaseMs: number): Promise<number> {
    this.#check(`renew ${holders.join(",")}`);
    let n = 0;
    for (const h of holders) {
      if ((this.slots.get(h) ?? 0) > Date.now()) {
        this.slots.set(h, Date.now() + leaseMs);
        n++;
      }
    }
    return n;
  }
  async overload(_lane: string, _rule: LimitRule, concurrency = false, holder?: string): Promise<number> {
    this.#check("overload");
    if (holder) this.flowing.delete(holder);
    for (const h of this.flowing) if (!this.slots.has(h)) this.flowing.delete(h);
    if (this.flowing.size > 0) {
      this.limit = Math.min(this.limit, this.flowing.size);
      if (concurrency) this.ceiling = this.flowing.size;
    } else this.limit = Number.isFinite(this.limit) ? Math.max(1, this.limit / 2) : Math.max(1, this.slots.size / 2);
    return this.limit;
  }
  async success(_lane: string, _rule: LimitRule, holder?: string): Promise<number> {
    this.#check("success");
    if (holder && this.slots.has(holder)) this.flowing.add(holder);
    if (Number.isFinite(this.limit)) this.limit = Math.max(this.limit, Math.min(this.ceiling, this.limit + 1 / this.limit));
    return this.limit;
  }
  async cooldown(_lane: string, ms: number): Promise<void> {
    this.#check("cooldown");
    this.h1Until = Date.now() + ms;
  }
  async wall(_lane: string, wall: SharedWall): Promise<void> {
    this.#check("wall");
    this.walls.push(wall);
  }
  async heartbeat(instance: string, _lanes: readonly string[], ttlMs: number): Promise<void> {
    this.#check("heartbeat");
    this.#instances.set(instance, Date.now() + ttlMs);
  }
  async view(): Promise<LaneView> {
    this.#check("view");
    this.#expire();
    const slots: Record<string, number> = {};
    for (const h of this.slots.keys()) slots[holderInstance(h)] = (slots[holderInstance(h)] ?? 0) + 1;
    const instances = [...this.#instances].filter(([, end]) => end > Date.now()).map(([name]) => name);
    const now = Date.now();
    return { instances, slots, inUse: this.slots.size, limit: this.limit, h1Ms: Math.max(0, this.h1Until - now), walls: this.walls.filter((w) => w.until > now) };
  }
  close(): void {}
}
