/**
 * An adaptive concurrency limit for one lane: at most `limit` upstream streams at once, the
 * rest wait in a bounded queue with a bounded wait (AIMD, as TCP congestion control).
 *
 * Every lane has one, configured or not. With `max_concurrency` set it starts engaged at that
 * limit. Without it, it admits everything until the lane's first overload verdict (a burst
 * code, 429 without a quota code, 529, overloaded_error) and then engages (see onOverload for
 * at what): requests wait in ccp's queue instead of re-hitting the provider,
 * which is what several sessions sharing one key need (the in-stream rate-limit report: per
 * request back-off alone re-collides). Overloads halve the limit, at most once per
 * `decreaseEveryMs` (one burst of refusals is one signal, not ten); each admitted stream adds
 * 1/limit back; after `quietMs` without an overload an unconfigured limiter lets go entirely.
 * A refusal for concurrency (Z.ai 1302) that comes while admitted streams are flowing says
 * exactly what the provider takes (one more than those was too many): that many is the lane's
 * ceiling, which growth does not pass until `quietMs` without an overload (probing past it would
 * only be refused again). Other overloads (529, a rate limit) say the provider is busy, not how
 * many it takes: the limit recovers from them as it grows.
 */
export class LimiterRejected extends Error {
  override readonly name = "LimiterRejected";
  constructor(
    readonly reason: "queue_full" | "queue_timeout" | "aborted",
    message: string,
  ) {
    super(message);
  }
}

export type Release = () => void;

/**
 * A lane's concurrency limit as the attempt loop uses it: the local AdaptiveLimiter below, or
 * one shared by a fleet of instances (cluster/shared-limiter.ts). Either queues a request that
 * finds no slot, within the lane's queue_max and queue_timeout_ms, and rejects as LimiterRejected.
 */
export interface Limiter {
  acquire(signal?: AbortSignal): Promise<Release>;
  /**
   * The upstream answered with a burst or overload signal (while the attempt still holds its
   * slot); `concurrency`: it said too many at once (Z.ai 1302).
   */
  onOverload(concurrency?: boolean, slot?: Release): void;
  /** A stream was admitted (its slot, when given, counts as flowing until released). */
  onSuccess(slot?: Release): void;
  /** The limit in force; Infinity when not engaged. */
  readonly limit: number;
  readonly engaged: boolean;
  readonly active: number;
  readonly queueDepth: number;
}

/** A request waiting in a lane's queue for a slot. */
export interface Waiter {
  readonly signal: AbortSignal | undefined;
  readonly resolve: (r: Release) => void;
  readonly reject: (e: LimiterRejected) => void;
  readonly cleanup: () => void;
}

/**
 * Puts a request in `queue` until it is given a slot (a waiter's resolve), rejected as
 * queue_timeout after `timeoutMs`, or as aborted with its signal; it leaves the queue either way.
 * The local limiter and the fleet's (cluster/shared-limiter.ts) queue alike.
 */
export function waitInQueue(queue: Waiter[], timeoutMs: number, signal: AbortSignal | undefined): Promise<Release> {
  return new Promise<Release>((resolve, reject) => {
    const timer = setTimeout(() => {
      remove();
      reject(new LimiterRejected("queue_timeout", `waited ${timeoutMs} ms for a lane slot`));
    }, timeoutMs);
    const onAbort = () => {
      remove();
      reject(new LimiterRejected("aborted", "the client went away while queued"));
    };
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const waiter: Waiter = { signal, resolve, reject, cleanup };
    const remove = () => {
      cleanup();
      const i = queue.indexOf(waiter);
      if (i !== -1) queue.splice(i, 1);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    queue.push(waiter);
  });
}

export interface LimiterOptions {
  /** max_concurrency: the configured ceiling; 0 when none is configured (adaptive only). */
  readonly max: number;
  readonly queueMax: number;
  readonly queueTimeoutMs: number;
  /** An unconfigured limiter lets go after this long without an overload. */
  readonly quietMs?: number;
  /** Overloads closer together than this halve the limit once. */
  readonly decreaseEveryMs?: number;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
}

export class AdaptiveLimiter implements Limiter {
  /** undefined: not engaged, everything is admitted. */
  #limit: number | undefined;
  #active = 0;
  /** Slots whose stream the upstream admitted and that are not released yet. */
  readonly #streaming = new Set<Release>();
  #lastOverload = Number.NEGATIVE_INFINITY;
  /** When the limit was last halved or engaged (halvings are at least decreaseEveryMs apart). */
  #lastDecrease = Number.NEGATIVE_INFINITY;
  /** What the provider was seen to take at most (see onOverload); held for quietMs after the last overload. */
  #ceiling: number | undefined;
  /** Wakes the queue when an unconfigured limit's quiet spell ends (see #armLetGo). */
  #quietTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #queue: Waiter[] = [];
  readonly #o: Required<LimiterOptions>;

  constructor(o: LimiterOptions) {
    this.#o = { quietMs: 60_000, decreaseEveryMs: 250, now: () => performance.now(), ...o };
    this.#limit = o.max > 0 ? o.max : undefined;
  }

  /** The limit in force; Infinity when not engaged. */
  get limit(): number {
    this.#letGoWhenQuiet();
    return this.#limit === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(this.#limit));
  }
  get engaged(): boolean {
    return this.limit !== Number.POSITIVE_INFINITY;
  }
  get active(): number {
    return this.#active;
  }
  get queueDepth(): number {
    return this.#queue.length;
  }

  acquire(signal?: AbortSignal): Promise<Release> {
    if (this.#active < this.limit && this.#queue.length === 0) return Promise.resolve(this.#grant());
    if (this.#queue.length >= this.#o.queueMax) {
      return Promise.reject(new LimiterRejected("queue_full", `lane queue is full (${this.#o.queueMax} waiting)`));
    }
    const waiting = waitInQueue(this.#queue, this.#o.queueTimeoutMs, signal);
    this.#armLetGo();
    return waiting;
  }

  /** While requests wait on an unconfigured limit, wake at the end of its quiet spell so the let-go lets them in. */
  #armLetGo(): void {
    if (this.#o.max > 0 || this.#limit === undefined || this.#queue.length === 0 || this.#quietTimer !== undefined) return;
    const ms = Math.max(0, this.#lastOverload + this.#o.quietMs - this.#o.now());
    this.#quietTimer = setTimeout(() => {
      this.#quietTimer = undefined;
      this.#letGoWhenQuiet();
      this.#armLetGo();
    }, ms + 1);
    this.#quietTimer.unref?.();
  }

  /**
   * The upstream answered with a burst or overload signal (called while the attempt still
   * holds its slot). When streams it admitted are flowing, it refused one more than those: the
   * limit goes to that many at once, and, for a concurrency refusal, that many is the ceiling.
   * Otherwise: engage at half the concurrency in flight, or back off multiplicatively. A storm of
   * refusals is one signal (decreaseEveryMs).
   */
  onOverload(concurrency = false, slot?: Release): void {
    if (slot) this.#streaming.delete(slot); // refused after its message_start: not one the provider took
    const now = this.#o.now();
    this.#overloadAt(now);
    const admitted = this.#streaming.size > 0 ? this.#streaming.size : undefined;
    if (admitted !== undefined && concurrency) this.#ceiling = admitted;
    if (admitted !== undefined) this.#limit = Math.max(1, Math.min(this.#limit ?? admitted, admitted));
    else if (this.#limit === undefined) this.#limit = Math.max(1, this.#active / 2);
    // A lasting storm keeps halving, once per decreaseEveryMs, down to one request at a time.
    else if (now - this.#lastDecrease >= this.#o.decreaseEveryMs) this.#limit = Math.max(1, this.#limit / 2);
    else return;
    this.#lastDecrease = now;
  }

  /**
   * Engages at `limit` unless already engaged at less (a shared lane falling back to this
   * limiter starts from its share of the fleet's limit, not from nothing); counts as an overload
   * for the quiet spell, so an unconfigured limiter holds it a while.
   */
  seed(limit: number): void {
    if (!Number.isFinite(limit)) return;
    const capped = Math.max(1, this.#o.max > 0 ? Math.min(this.#o.max, limit) : limit);
    if (this.#limit === undefined || this.#limit > capped) this.#limit = capped;
    this.#overloadAt(this.#o.now());
  }

  /**
   * A stream was admitted: recover additively, up to max_concurrency and the ceiling the
   * provider showed, while it holds. With its slot, the stream counts as flowing until the slot
   * is released (what onOverload learns from).
   */
  onSuccess(slot?: Release): void {
    if (slot) this.#streaming.add(slot);
    if (this.#limit !== undefined) {
      const grown = this.#limit + 1 / this.#limit;
      const top = Math.min(this.#o.max > 0 ? this.#o.max : Number.POSITIVE_INFINITY, this.#heldCeiling());
      this.#limit = Math.max(this.#limit, Math.min(top, grown));
    }
    this.#pump();
  }

  /** Marks an overload at `now`; a ceiling from before a quiet spell is forgotten, not brought back. */
  #overloadAt(now: number): void {
    if (now - this.#lastOverload >= this.#o.quietMs) this.#ceiling = undefined;
    this.#lastOverload = now;
  }

  /** The ceiling while it holds (quietMs after the last overload), else none. */
  #heldCeiling(): number {
    if (this.#ceiling === undefined || this.#o.now() - this.#lastOverload >= this.#o.quietMs) return Number.POSITIVE_INFINITY;
    return this.#ceiling;
  }

  #letGoWhenQuiet(): void {
    if (this.#limit === undefined || this.#o.max > 0) return;
    if (this.#o.now() - this.#lastOverload < this.#o.quietMs) return;
    this.#limit = undefined;
    this.#ceiling = undefined;
    this.#pump();
  }

  #grant(): Release {
    this.#active++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#streaming.delete(release);
      this.#pump();
    };
    return release;
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#active < this.limit) {
      const next = this.#queue.shift()!;
      next.cleanup();
      next.resolve(this.#grant());
    }
  }
}
