import type { Protocol } from "../upstream/transport.ts";

/** What is true right now, for status and gauges. Mutated only by the request path. */
export interface LiveState {
  readonly startedAt: number;
  /** Client requests being served (from arrival until their usage record is written). */
  inflight: number;
  readonly lanes: Map<string, LaneLive>;
}

export interface LaneLive {
  /** The protocol the lane's next attempt will use. */
  protocol: Protocol;
  /** Requests waiting for a concurrency slot on the lane. */
  queueDepth: number;
  /** The lane's concurrency limit in force; Infinity while none is engaged. */
  limit: number;
}

export function newLiveState(lanes: Iterable<{ name: string; protocol: Protocol }>): LiveState {
  return {
    startedAt: Date.now(),
    inflight: 0,
    lanes: new Map([...lanes].map((l) => [l.name, { protocol: l.protocol, queueDepth: 0, limit: Number.POSITIVE_INFINITY }])),
  };
}
