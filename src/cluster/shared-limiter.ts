import { type AdaptiveLimiter, type Limiter, LimiterRejected, type Release, type Waiter, waitInQueue } from "../resilience/limiter.ts";
import { type Fleet, holderId, type LimitRule, type SlotAnswer } from "./fleet.ts";

export interface SharedLimiterOptions {
  readonly lane: string;
  readonly fleet: Fleet;
  /** Used whenever the fleet is down, and for the verdicts that come while it is. */
  readonly local: AdaptiveLimiter;
  /** Instances sharing the lane, as last seen: falling back, the local limiter starts at its share of the fleet's limit. */
  readonly instances?: () => number;
  /** This instance's name; its holders are `<instance>/<n>`. */
  readonly instance: () => string;
  readonly leaseMs: number;
  readonly rule: LimitRule;
  readonly queueMax: number;
  readonly queueTimeoutMs: number;
  /** How often a waiting request asks the fleet again (jittered); a release here asks at once. */
  readonly pollMs?: number;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
  readonly random?: () => number;
}

const DOWN = Symbol("down");

/**
 * A lane's concurrency limit shared by every instance (the Limiter the attempt loop uses for a
 * `shared = true` lane): a slot is a lease in the fleet's semaphore, renewed every third of the
 * lease while its stream is in flight, so a long stream keeps it and a crashed instance's slots
 * come back after the lease. The adaptive limit is the fleet's: a verdict here moves it for all.
 * A request that finds no slot waits in this instance's queue, bounded as the local limiter's
 * (queue_max, queue_timeout_ms, the same rejections). Whenever the fleet does not answer, the
 * request is the local limiter's at once: a Redis outage never fails a request.
 */
export class SharedLimiter implements Limiter {
  readonly #o: Required<SharedLimiterOptions>;
  readonly #queue: Waiter[] = [];
  readonly #held = new Set<string>();
  /** The holder behind each slot handed out (what a success reports as flowing). */
  readonly #holders = new WeakMap<Release, string>();
  #seq = 0;
  #pumping = false;
  #wake: (() => void) | undefined;
  #renewer: ReturnType<typeof setInterval> | undefined;
  /** The fleet's state as last heard. */
  #limit = Number.POSITIVE_INFINITY;
  #inUse = 0;
  #h1Until = 0;
  /** The fleet answered since the last fall-back. */
  #heardUp = false;

  constructor(o: SharedLimiterOptions) {
    this.#o = { pollMs: 50, now: () => performance.now(), random: Math.random, instances: () => 1, ...o };
  }

  /** The fleet's limit as last heard; the local one while the fleet is down. */
  get limit(): number {
    return this.#o.fleet.up ? this.#limit : this.#o.local.limit;
  }
  get engaged(): boolean {
    return this.limit !== Number.POSITIVE_INFINITY;
  }
  /** Streams of this instance holding a slot (fleet or local). */
  get active(): number {
    return this.#held.size + this.#o.local.active;
  }
  get queueDepth(): number {
    return this.#queue.length + this.#o.local.queueDepth;
  }
  /** Slots held fleet-wide, as last heard. */
  get inUse(): number {
    return this.#inUse;
  }
  /** Until when (monotonic ms) the fleet has the lane on HTTP/1.1, as last heard. */
  get h1Until(): number {
    return this.#h1Until;
  }

  /** What another read of the fleet (the status sync) heard. */
  heard(a: Pick<SlotAnswer, "inUse" | "limit" | "h1Ms">): void {
    this.#heardUp = true;
    this.#inUse = a.inUse;
    this.#limit = a.limit;
    this.#h1Until = a.h1Ms > 0 ? this.#o.now() + a.h1Ms : 0;
  }

  async acquire(signal?: AbortSignal): Promise<Release> {
    if (!this.#o.fleet.up) return this.#local(signal);
    if (this.#queue.length === 0) {
      const tried = await this.#try();
      if (tried === DOWN) return this.#local(signal);
      if (tried !== undefined) return this.#grant(tried);
    }
    if (signal?.aborted) throw new LimiterRejected("aborted", "the client went away while queued");
    if (this.#queue.length >= this.#o.queueMax) throw new LimiterRejected("queue_full", `lane queue is full (${this.#o.queueMax} waiting)`);
    const waiting = waitInQueue(this.#queue, this.#o.queueTimeoutMs, signal);
    void this.#pump();
    return waiting;
  }

  /** The local limiter, seeded at the start of an outage with this instance's share of the fleet's limit as last heard. */
  #local(signal?: AbortSignal): Promise<Release> {
    if (this.#heardUp) {
      this.#heardUp = false;
      this.#o.local.seed(this.#limit / Math.max(1, this.#o.instances()));
    }
    return this.#o.local.acquire(signal);
  }

  onOverload(concurrency = false, slot?: Release): void {
    const holder = slot && this.#holders.get(slot);
    // A slot the local limiter gave (the fleet was down): its verdict is the local limiter's.
    if (slot && !holder) return this.#o.local.onOverload(concurrency, slot);
    if (!this.#o.fleet.up) return this.#o.local.onOverload(concurrency);
    // A verdict the fleet missed is not repeated on the local limiter: it counts only local slots, and
    // would engage at one. The next request that finds the fleet down seeds it with the fleet's share.
    this.#o.fleet.overload(this.#o.lane, this.#o.rule, concurrency, holder).then(
      (limit) => (this.#limit = limit),
      () => {},
    );
  }

  onSuccess(slot?: Release): void {
    const holder = slot && this.#holders.get(slot);
    if (slot && !holder) return this.#o.local.onSuccess(slot);
    if (!this.#o.fleet.up) return this.#o.local.onSuccess();
    this.#o.fleet.success(this.#o.lane, this.#o.rule, holder).then(
      (limit) => (this.#limit = limit),
      () => {},
    );
  }

  /** Stops renewing (ccp stopping: its leases lapse on their own if a release cannot be sent). */
  close(): void {
    clearInterval(this.#renewer);
    this.#renewer = undefined;
  }

  /** A slot for a new holder, undefined when the fleet is full, DOWN when it did not answer. */
  async #try(): Promise<string | undefined | typeof DOWN> {
    const holder = holderId(this.#o.instance(), ++this.#seq);
    try {
      const a = await this.#o.fleet.acquire(this.#o.lane, holder, this.#o.leaseMs, this.#o.rule);
      this.heard(a);
      return a.granted ? holder : undefined;
    } catch {
      return DOWN;
    }
  }

  #grant(holder: string): Release {
    this.#held.add(holder);
    this.#renewer ??= setInterval(() => this.#renew(), Math.max(100, Math.floor(this.#o.leaseMs / 3)));
    this.#renewer.unref?.();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#held.delete(holder);
      if (this.#held.size === 0) this.close();
      // A release that does not arrive is a lease that lapses: the slot comes back all the same.
      this.#o.fleet.release(this.#o.lane, holder).then(
        () => this.#wake?.(),
        () => {},
      );
    };
    this.#holders.set(release, holder);
    return release;
  }

  #renew(): void {
    if (this.#held.size === 0 || !this.#o.fleet.up) return;
    this.#o.fleet.renew(this.#o.lane, [...this.#held], this.#o.leaseMs).catch(() => {});
  }

  /** Serves the queue in order: asks the fleet for the first waiter's slot, naps between refusals, hands everyone to the local limiter when the fleet is down. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0) {
        if (!this.#o.fleet.up) {
          this.#handOver();
          break;
        }
        const tried = await this.#try();
        if (tried === DOWN) continue;
        if (tried !== undefined) {
          const next = this.#queue.shift();
          if (next) {
            next.cleanup();
            next.resolve(this.#grant(tried));
          } else this.#o.fleet.release(this.#o.lane, tried).catch(() => {});
          continue;
        }
        await this.#nap();
      }
    } finally {
      this.#pumping = false;
    }
  }

  #handOver(): void {
    for (const w of this.#queue.splice(0)) {
      w.cleanup();
      this.#local(w.signal).then(w.resolve, w.reject);
    }
  }

  #nap(): Promise<void> {
    const ms = this.#o.pollMs * (0.5 + this.#o.random());
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}
