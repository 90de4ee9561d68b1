/**
 * An adaptive concurrency limit for one lane: at most `limit` upstream streams at once,
 * the rest wait in a bounded queue with a bounded wait. Burst-limit answers halve the
 * limit; each success adds 1/limit back (AIMD, as TCP congestion control), up to `max`.
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

interface Waiter {
  readonly resolve: (r: Release) => void;
  readonly reject: (e: LimiterRejected) => void;
  readonly cleanup: () => void;
}

export class AdaptiveLimiter {
  #limit: number;
  #active = 0;
  readonly #queue: Waiter[] = [];

  constructor(
    readonly max: number,
    readonly queueMax: number,
    readonly queueTimeoutMs: number,
  ) {
    this.#limit = max;
  }

  get limit(): number {
    return Math.max(1, Math.floor(this.#limit));
  }
  get active(): number {
    return this.#active;
  }
  get queueDepth(): number {
    return this.#queue.length;
  }

  acquire(signal?: AbortSignal): Promise<Release> {
    if (this.#active < this.limit && this.#queue.length === 0) return Promise.resolve(this.#grant());
    if (this.#queue.length >= this.queueMax) {
      return Promise.reject(new LimiterRejected("queue_full", `lane queue is full (${this.queueMax} waiting)`));
    }
    return new Promise<Release>((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(new LimiterRejected("queue_timeout", `waited ${this.queueTimeoutMs} ms for a lane slot`));
      }, this.queueTimeoutMs);
      const onAbort = () => {
        remove();
        reject(new LimiterRejected("aborted", "the client went away while queued"));
      };
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = { resolve, reject, cleanup };
      const remove = () => {
        cleanup();
        const i = this.#queue.indexOf(waiter);
        if (i !== -1) this.#queue.splice(i, 1);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** The upstream answered with a burst or overload signal: back off multiplicatively. */
  onOverload(): void {
    this.#limit = Math.max(1, this.#limit / 2);
  }

  /** A stream was admitted: recover additively. */
  onSuccess(): void {
    this.#limit = Math.min(this.max, this.#limit + 1 / this.#limit);
    this.#pump();
  }

  #grant(): Release {
    this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#pump();
    };
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#active < this.limit) {
      const next = this.#queue.shift()!;
      next.cleanup();
      next.resolve(this.#grant());
    }
  }
}
