import type { LoopResult } from "../resilience/attempt-loop.ts";
import type { LaneRuntime } from "../resilience/lane-runtime.ts";
import { newObservation, observeJsonBody } from "../sse/observer.ts";
import { ERROR_TYPE_BY_STATUS, errorResponse } from "./errors.ts";
import { downstreamHeaders } from "../upstream/forward-headers.ts";
import { quote } from "../upstream/quote.ts";
import type { SecretFilter } from "./secret-filter.ts";

/** Claude Code gives up at once on a retry-after above 60 s (PROTOCOL.md): never send more. */
const MAX_CLIENT_RETRY_AFTER_S = 60;

const STATUS_BY_ERROR_TYPE: Record<string, number> = Object.fromEntries(
  Object.entries(ERROR_TYPE_BY_STATUS)
    .filter(([status]) => ![405, 415, 502, 503].includes(Number(status)))
    .map(([status, type]) => [type, Number(status)]),
);

const ERROR_TYPES: ReadonlySet<string> = new Set(Object.values(ERROR_TYPE_BY_STATUS));

export interface Answer {
  readonly response: Response;
  readonly status: number;
  readonly errType: string;
}

type Unanswered = Extract<LoopResult, { kind: "answer" } | { kind: "failed" }>;

/**
 * The client's answer when no response was committed. Overload and burst limits that
 * outlasted the retries become 529 overloaded_error, which Claude Code retries (429 reads
 * as a quota wall); other upstream answers pass through as they came.
 */
export function answerUncommitted(result: Unanswered, rid: string, secrets: SecretFilter | undefined): Answer {
  // Every message below may quote the upstream, which may quote the credential it was sent.
  // The type may come from the upstream too: ccp's envelope carries only a type Anthropic defines.
  const error = (status: number, message: string, upstreamType?: string, headers: Record<string, string> = {}): Answer => {
    const type = upstreamType !== undefined && ERROR_TYPES.has(upstreamType) ? upstreamType : undefined;
    const response = errorResponse(status, secrets ? secrets.text(message) : message, rid, type, headers);
    return { response, status, errType: type ?? ERROR_TYPE_BY_STATUS[status] ?? "api_error" };
  };
  // ccp waited out the lane's whole budget (or its queue): the client must not hammer at once.
  const spent = { "retry-after": String(laneRetryAfterS(result.runtime)), "x-should-retry": "false" };
  const lane = result.runtime.lane.name;
  const tries = result.attempts.length;
  const after = tries > 1 ? ` (after ${tries} attempts)` : "";
  if (result.kind === "failed") {
    const f = result.failure;
    // 503 is retried by Anthropic's clients: a restart's new instance (or the same one, started again) takes it.
    if (f.failureClass === "shutdown") return error(503, `ccp: ${f.message}; retry the request`);
    if (f.failureClass === "queue_full") return error(529, `ccp: lane "${lane}" is at its concurrency limit: ${f.message}`, undefined, { "retry-after": spent["retry-after"] });
    if (f.failureClass === "queue_timeout") return error(529, `ccp: lane "${lane}" is at its concurrency limit: ${f.message}`, undefined, spent);
    const status = f.failureClass === "headers_timeout" || f.failureClass === "idle_timeout" ? 504 : 502;
    const protocol = result.attempts.at(-1)?.protocol ?? "-";
    return error(status, `ccp: lane "${lane}" (${protocol}): ${f.failureClass}: ${f.message}${after}`);
  }

  const { peeked } = result;
  const text = new TextDecoder().decode(peeked.body);
  const overloaded = result.exhausted && result.verdict.overload;
  const upstream529 = peeked.kind === "http_status" && peeked.response.status === 529;
  if (overloaded && !upstream529) {
    const upstreamMessage = peeked.kind === "in_stream_error" ? peeked.observation.error?.message : messageOf(text);
    return error(529, `upstream overloaded or rate-limited${after}: ${upstreamMessage ?? "no message"}`, undefined, spent);
  }
  if (peeked.kind === "in_stream_error") {
    // A 200 whose first event was an error is not something a client can parse as a reply:
    // answer with the HTTP status that error type stands for.
    const err = peeked.observation.error;
    const status = STATUS_BY_ERROR_TYPE[err?.type ?? ""] ?? 500;
    return error(status, `upstream error before the stream started: ${err?.message ?? "unknown"}`, err?.type);
  }
  const headers = downstreamHeaders(peeked.response.headers, secrets);
  const retryAfter = Number(headers.get("retry-after"));
  if (Number.isFinite(retryAfter) && retryAfter > MAX_CLIENT_RETRY_AFTER_S) headers.set("retry-after", String(MAX_CLIENT_RETRY_AFTER_S));
  headers.set("x-ccp-rid", rid);
  // The upstream's own retry-after (capped above) says more than ccp's estimate.
  if (overloaded) {
    headers.set("x-should-retry", "false");
    if (!headers.has("retry-after")) headers.set("retry-after", spent["retry-after"]);
  }
  const observation = newObservation();
  observeJsonBody(observation, text);
  const status = peeked.response.status;
  if (!isErrorBody(text)) {
    // Not Anthropic's envelope (an HTML page, plain text, nothing, cut JSON): a client cannot
    // read it as an error, so ccp says what came back in its own, with the same status.
    const kept = Object.fromEntries(["retry-after", "x-should-retry"].flatMap((k) => (headers.has(k) ? [[k, headers.get(k)!]] : [])));
    const type = peeked.response.headers.find(([k]) => k === "content-type")?.[1] ?? "(none)";
    const shown = quote(text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").trim(), 300);
    return error(status, `upstream answered HTTP ${status} (content-type ${quote(type, 60)}) ${shown ? `with ${JSON.stringify(shown)}` : "with an empty body"}${after}`, undefined, kept);
  }
  // An envelope is passed on verbatim: Claude Code's own recovery matches the provider's words.
  headers.set("content-type", "application/json");
  const body = secrets ? secrets.bytes(peeked.body) : peeked.body;
  return { response: new Response(body, { status, headers }), status, errType: observation.error?.type ?? ERROR_TYPE_BY_STATUS[status] ?? "api_error" };
}

/**
 * How long a client should wait before asking an overloaded lane again: the lane's back-off
 * ceiling, plus a second for every request queued ahead of it per slot; 1 to 60 s.
 */
export function laneRetryAfterS(runtime: Pick<LaneRuntime, "lane" | "limiter">): number {
  const { limit, queueDepth } = runtime.limiter;
  const ahead = Number.isFinite(limit) ? Math.ceil(queueDepth / Math.max(1, limit)) : 0;
  return Math.min(MAX_CLIENT_RETRY_AFTER_S, Math.max(1, Math.ceil(runtime.lane.retry.cap_ms / 1000) + ahead));
}

/** An error body a client can read: a JSON object with an `error` object (Anthropic's envelope, or Z.ai's without its `type`). */
function isErrorBody(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    const error = typeof v === "object" && v !== null ? (v as { error?: unknown }).error : undefined;
    return typeof error === "object" && error !== null && !Array.isArray(error);
  } catch {
    return false;
  }
}

function messageOf(text: string): string | undefined {
  const o = newObservation();
  observeJsonBody(o, text);
  return o.error?.message ?? (quote(text.trim(), 300) || undefined);
}
