import type { LoopResult } from "../resilience/attempt-loop.ts";
import { newObservation, observeJsonBody } from "../sse/observer.ts";
import { ERROR_TYPE_BY_STATUS, errorResponse } from "./errors.ts";
import { downstreamHeaders } from "../upstream/forward-headers.ts";
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
  const error = (status: number, message: string, upstreamType?: string): Answer => {
    const type = upstreamType !== undefined && ERROR_TYPES.has(upstreamType) ? upstreamType : undefined;
    const response = errorResponse(status, secrets ? secrets.text(message) : message, rid, type);
    return { response, status, errType: type ?? ERROR_TYPE_BY_STATUS[status] ?? "api_error" };
  };
  const lane = result.runtime.lane.name;
  const tries = result.attempts.length;
  const after = tries > 1 ? ` (after ${tries} attempts)` : "";
  if (result.kind === "failed") {
    const f = result.failure;
    // 503 is retried by Anthropic's clients: a restart's new instance (or the same one, started again) takes it.
    if (f.failureClass === "shutdown") return error(503, `ccp: ${f.message}; retry the request`);
    if (f.failureClass === "queue_full" || f.failureClass === "queue_timeout") {
      return error(529, `ccp: lane "${lane}" is at its concurrency limit: ${f.message}`);
    }
    const status = f.failureClass === "headers_timeout" || f.failureClass === "idle_timeout" ? 504 : 502;
    const protocol = result.attempts.at(-1)?.protocol ?? "-";
    return error(status, `ccp: lane "${lane}" (${protocol}): ${f.failureClass}: ${f.message}${after}`);
  }

  const { peeked } = result;
  const text = new TextDecoder().decode(peeked.body);
  const upstream529 = peeked.kind === "error_status" && peeked.response.status === 529;
  if (result.exhausted && result.verdict.overload && !upstream529) {
    const upstreamMessage = peeked.kind === "in_stream_error" ? peeked.observation.error?.message : messageOf(text);
    return error(529, `upstream overloaded or rate-limited${after}: ${upstreamMessage ?? "no message"}`);
  }
  if (peeked.kind === "in_stream_error") {
    // A 200 whose first event was an error is not something a client can parse as a reply:
    // answer with the HTTP status that error type stands for.
    const err = peeked.observation.error;
    const status = STATUS_BY_ERROR_TYPE[err?.type ?? ""] ?? 500;
    return error(status, `upstream error before the stream started: ${err?.message ?? "unknown"}`, err?.type);
  }
  const headers = downstreamHeaders(peeked.response.headers, secrets?.text);
  const retryAfter = Number(headers.get("retry-after"));
  if (Number.isFinite(retryAfter) && retryAfter > MAX_CLIENT_RETRY_AFTER_S) headers.set("retry-after", String(MAX_CLIENT_RETRY_AFTER_S));
  headers.set("x-ccp-rid", rid);
  const observation = newObservation();
  observeJsonBody(observation, text);
  const status = peeked.response.status;
  const body = secrets ? secrets.bytes(peeked.body) : peeked.body;
  return { response: new Response(body, { status, headers }), status, errType: observation.error?.type ?? ERROR_TYPE_BY_STATUS[status] ?? "api_error" };
}

function messageOf(text: string): string | undefined {
  const o = newObservation();
  observeJsonBody(o, text);
  return o.error?.message ?? (text.trim().slice(0, 300) || undefined);
}
