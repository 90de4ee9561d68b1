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

/** An upstream response's headers, as transports give them. */
type HeaderList = ReadonlyArray<readonly [string, string]>;

/** The upstream's `request-id` header, when it sent one. */
export const upstreamRequestId = (headers: HeaderList): string | null => headers.find(([k]) => k === "request-id")?.[1] ?? null;

/** `ccp replay` marked the request as a replay of this one (undefined: not a replay). */
export function applyReplay(r: UsageRecord, replayOf: string | undefined): void {
  r.replay_of = replayOf ?? null;
}

/** What the body says: the model the client asked for, and whether it asked for a stream. */
export function applyBody(r: UsageRecord, body: { readonly model: string; readonly stream: boolean }): void {
  r.model = body.model;
  r.stream = body.stream;
}

/** The `[[routes]]` entry that matched (null: a pick by name, or a replay's lane). */
export function applyRoute(r: UsageRecord, route: { readonly index: number; readonly name: string | null } | null | undefined): void {
  r.route = route?.index ?? null;
  r.route_name = route?.name ?? null;
}

/** The quota desk's choice before any attempt: when it moved the request off its routed lane, from where and why. */
export function applySteered(r: UsageRecord, steered: { readonly reroutedFrom: string | null; readonly reason: UsageRecord["reroute_reason"] }): void {
  if (!steered.reroutedFrom) return;
  r.rerouted_from = steered.reroutedFrom;
  r.reroute_reason = steered.reason;
}

/** ccp answered a token count itself, from its own estimate. */
export function applyEstimate(r: UsageRecord): void {
  r.estimated = true;
}

/** How the attempt loop ended when nothing was committed (the loop's result, as the record needs it). */
export type Uncommitted =
  | { readonly kind: "failed"; readonly failure: { readonly failureClass: FailureClass } }
  | {
      readonly kind: "answer";
      readonly peeked:
        | { readonly kind: "http_status"; readonly response: { readonly headers: HeaderList } }
        | { readonly kind: "in_stream_error"; readonly response: { readonly headers: HeaderList }; readonly observation: StreamObservation };
    };

/**
 * Fills what an answer given before commit tells: the failure class (the loop's failure, or the
 * kind of the upstream's answer), the error type the client got (`client_abort` when it left),
 * what an in-stream error's frames said, and the upstream's request id when it answered.
 */
export function applyUncommitted(r: UsageRecord, result: Uncommitted, errType: string): void {
  r.failure_class = result.kind === "failed" ? result.failure.failureClass : result.peeked.kind;
  r.err_type = r.failure_class === "client_abort" ? "client_abort" : errType;
  if (result.kind === "answer" && result.peeked.kind === "in_stream_error") applyObservation(r, result.peeked.observation);
  r.upstream_request_id = result.kind === "answer" ? upstreamRequestId(result.peeked.response.headers) : null;
}

/** The commit: the upstream's request id, and when the client's first byte left. */
export function applyCommit(r: UsageRecord, headers: HeaderList, firstByteMs: number): void {
  r.upstream_request_id = upstreamRequestId(headers);
  r.first_byte_ms = firstByteMs;
}

/** The first content reached the client: the time to first token, taken once (`elapsed` is asked only then). */
export function applyFirstContent(r: UsageRecord, elapsed: () => number): void {
  r.ttft_ms ??= elapsed();
}

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
