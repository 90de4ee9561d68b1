import type { Lane } from "../config/config.ts";
import type { AttemptRecord } from "../usage/record.ts";
import { isUpstreamFailure, UpstreamFailure } from "../upstream/failure.ts";
import type { Transport, UpstreamRequest } from "../upstream/transport.ts";
import { peek, type Committed, type ErrorAnswer, type InStreamError } from "./peek.ts";

export interface AttemptTarget {
  readonly lane: Lane;
  readonly transport: Transport;
  readonly request: Omit<UpstreamRequest, "signal">;
}

export type LoopResult =
  | { readonly kind: "committed"; readonly peeked: Committed; readonly attempts: AttemptRecord[] }
  | { readonly kind: "answer"; readonly peeked: ErrorAnswer | InStreamError; readonly attempts: AttemptRecord[] }
  | { readonly kind: "failed"; readonly failure: UpstreamFailure; readonly attempts: AttemptRecord[] };

/**
 * The one place that decides how a request is tried. Every attempt is recorded.
 * The commit point: a response leaves this loop only once its first real event
 * (or a non-SSE body) has arrived, so anything before that is still the loop's to handle.
 */
export async function runAttempts(target: AttemptTarget, signal: AbortSignal, now: () => number = performance.now.bind(performance)): Promise<LoopResult> {
  const attempts: AttemptRecord[] = [];
  const { lane, transport } = target;
  const started = now();
  const record = (outcome: AttemptRecord["outcome"], status: number | null) =>
    attempts.push({ lane: lane.name, protocol: transport.protocol, outcome, status, ms: Math.round(now() - started), wait_ms: 0 });
  try {
    const response = await transport.send({ ...target.request, signal });
    const peeked = await peek(response);
    if (peeked.kind === "commit") {
      record("ok", response.status);
      return { kind: "committed", peeked, attempts };
    }
    record(peeked.kind === "error_status" ? "http_status" : "in_stream_error", response.status);
    return { kind: "answer", peeked, attempts };
  } catch (e) {
    const failure = isUpstreamFailure(e) ? e : new UpstreamFailure("protocol", (e as Error)?.message ?? String(e));
    record(signal.aborted ? "client_abort" : failure.failureClass, null);
    return { kind: "failed", failure, attempts };
  }
}
