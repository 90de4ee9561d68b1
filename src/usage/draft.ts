import type { StreamObservation } from "../sse/observer.ts";
import type { FailureClass } from "../upstream/failure.ts";
import type { AttemptRecord, UsageRecord } from "./record.ts";

/** Who sent a request, as its usage line says: the instance, the client, Claude Code's session and agent. */
export type Origin = Pick<UsageRecord, "instance" | "client" | "session_id" | "agent_id">;

const NO_ORIGIN: Origin = { instance: "", client: null, session_id: null, agent_id: null };

/** Starts a usage record with every field present (null until known), so lines always have one shape. */
export function draftRecord(rid: string, op: UsageRecord["op"], profile: string, port: number, origin: Origin = NO_ORIGIN): UsageRecord {
  return {
    ts: new Date().toISOString(),
    rid,
    lane: null,
    model: null,
    status: 0,
    input_tokens: null,
    output_tokens: null,
    op,
    latency_ms: 0,
    ttft_ms: null,
    err_type: null,
    upstream: null,
    h2: null,
    header_mode: null,
    upstream_model: null,
    stream: false,
    first_byte_ms: null,
    cache_read_input_tokens: null,
    cache_creation_input_tokens: null,
    stop_reason: null,
    upstream_request_id: null,
    failure_class: null,
    retries: 0,
    fallback_from: null,
    rerouted_from: null,
    reroute_reason: null,
    route: null,
    route_name: null,
    replay_of: null,
    downgraded: false,
    queue_ms: 0,
    estimated: false,
    profile,
    port,
    instance: origin.instance,
    client: origin.client,
    session_id: origin.session_id,
    agent_id: origin.agent_id,
    attempts: [],
    capture: null,
  };
}

export function applyObservation(r: UsageRecord, o: StreamObservation): void {
  r.input_tokens = o.inputTokens ?? null;
  r.output_tokens = o.outputTokens ?? null;
  r.cache_read_input_tokens = o.cacheReadInputTokens ?? null;
  r.cache_creation_input_tokens = o.cacheCreationInputTokens ?? null;
  r.stop_reason = o.stopReason ?? null;
  if (o.error && !r.err_type) r.err_type = o.error.type;
}

/** What the attempt loop did, as the record keeps it. */
export interface TriedOutcome {
  readonly attempts: AttemptRecord[];
  readonly fallbackFrom: string | undefined;
  /** The loop moved the request to the next lane of its chain after a quota wall. */
  readonly reroutedFrom?: string | undefined;
  readonly downgraded: boolean;
  readonly queueMs: number;
}

export function applyAttempts(r: UsageRecord, o: TriedOutcome): void {
  r.attempts = o.attempts;
  r.retries = Math.max(0, o.attempts.length - 1);
  r.fallback_from = o.fallbackFrom ?? null;
  if (o.reroutedFrom !== undefined && r.rerouted_from === null) {
    r.rerouted_from = o.reroutedFrom;
    r.reroute_reason = "quota_wall";
  }
  r.downgraded = o.downgraded;
  r.queue_ms = Math.round(o.queueMs);
  const last = o.attempts.at(-1);
  r.h2 = last ? last.protocol === "h2" : null;
}

/** The upstream's `request-id` header, when it sent one. */
export const upstreamRequestId = (headers: ReadonlyArray<readonly [string, string]>): string | null => headers.find(([k]) => k === "request-id")?.[1] ?? null;

/** How a committed answer ended, as the guard saw it. */
export interface StreamEnd {
  readonly observation: StreamObservation;
  readonly sse: boolean;
  /** The stream broke (or the client left); undefined when it ended. */
  readonly failure: { readonly failureClass: FailureClass } | undefined;
  /** The provider's code of an upstream error after commit ("1302"), else its type. */
  readonly code: string | null;
}

/**
 * Fills what the answer's end tells: tokens and stop reason, and, when the client did not get
 * the whole answer, why, on the line and on the attempt that answered (its outcome is then the
 * failure, as it would have been before commit).
 */
export function applyStreamEnd(r: UsageRecord, end: StreamEnd): void {
  const { observation, failure } = end;
  applyObservation(r, observation);
  let code: string | null = null;
  // A client that leaves on reading the upstream's error frame left because of that error.
  const upstreamError = observation.error !== undefined && (!failure || failure.failureClass === "client_abort");
  if (failure && !upstreamError) {
    r.failure_class = failure.failureClass;
    r.err_type ??= failure.failureClass === "client_abort" ? "client_abort" : "stream_error";
  } else if (upstreamError) {
    // The upstream answered and then sent an error (after commit): the in-stream error it is,
    // with the provider's code, as one before commit would be.
    r.failure_class = "in_stream_error";
    code = end.code;
  } else if (end.sse && !observation.messageStop) {
    // The upstream ended the stream early and cleanly; the guard closed it for the client,
    // who sees a well-formed end. The record says the answer was cut short.
    r.failure_class = "protocol";
    r.err_type ??= "stream_error";
  }
  const last = r.attempts.at(-1);
  if (last && r.failure_class) r.attempts = [...r.attempts.slice(0, -1), { ...last, outcome: r.failure_class, code: code ?? last.code }];
}
