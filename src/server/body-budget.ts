import type { Limits } from "../config/schema.ts";
import type { LiveState } from "../usage/live.ts";

const MIB = 1024 * 1024;

/**
 * Bytes of request bodies being received and checked at once, all clients together. That is
 * when a body costs most (Bun's buffer, the bytes, their text and the tree JSON.parse builds),
 * and when a client sets the pace: a slow upload can hold its part for limits.body_timeout_ms.
 * Once checked, a body costs its own bytes, kept for retries until its answer ends.
 */
export class BodyBudget {
  readonly capacity: number;
  #held = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get held(): number {
    return this.#held;
  }

  /**
   * Holds `bytes` more, or says no when that would pass the capacity. A body alone is always
   * taken, so that no body within limits.max_body_mb is refused for ever.
   */
  take(bytes: number): boolean {
    if (this.#held > 0 && this.#held + bytes > this.capacity) return false;
    this.#held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }
}

const byLive = new WeakMap<LiveState, BodyBudget>();

/** The server's budget, registered against its live state (as the status counter is), so the request path finds it without new wiring. */
export function bodyBudgetOf(live: LiveState, limits: Pick<Limits, "max_inflight_body_mb">): BodyBudget {
  let budget = byLive.get(live);
  if (!budget) byLive.set(live, (budget = new BodyBudget(Math.floor(limits.max_inflight_body_mb * MIB))));
  return budget;
}
