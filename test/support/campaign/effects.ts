import { MESSAGE_START_HOLD } from "../../../src/resilience/peek.ts";
import type { RawEnd } from "../fake-upstream/index.ts";
import type { Placed } from "./sse.ts";

/**
 * What one upstream attempt means to ccp, by the contract (README "How streaming behaves, and
 * what ccp retries"; issue 19's rules), derived from what the fake upstream is told to send.
 */
export type Transport = "h1" | "h2";

/** The campaign's lane settings: short, so faults cost little time; the model below reads them. */
export const TIMEOUTS = { connect_ms: 2_000, tls_ms: 2_000, headers_ms: 1_000, idle_ms: 1_000 } as const;
export const RETRY = { attempts: 4, base_ms: 5, cap_ms: 20, budget_ms: 5_000, retry_after_max_ms: 1_500 } as const;
export const HOLD_MS = MESSAGE_START_HOLD.ms;
/** Any wait the repertoire puts between two pieces stays this far under idle_ms and headers_ms. */
export const MAX_QUIET_MS = 450;

export type Effect =
  /** committed, and the client gets the whole answer */
  | { readonly kind: "complete"; readonly text: string }
  /** a stream committed, then ended by the upstream before message_stop: ccp adds the closing frames; the line says protocol */
  | { readonly kind: "closed"; readonly text: string }
  /** a stream committed, then broken: the client's stream ends with ccp's `event: error` */
  | { readonly kind: "broken"; readonly outcomes: readonly string[]; readonly text: string }
  /** a stream committed, then the upstream's own `event: error` ends it */
  | { readonly kind: "error_after"; readonly errType: string; readonly text: string }
  /** nothing committed: the attempt failed */
  | {
      readonly kind: "fail";
      /** the attempt's outcome in the usage line (one of) */
      readonly outcomes: readonly string[];
      readonly retryable: boolean;
      /** retried past the attempt count, within the time budget; exhausted: 529 */
      readonly overload: boolean;
      readonly retryAfterMs: number | undefined;
      /** what the client gets when ccp stops here: the status, and whether its body is Anthropic's envelope */
      readonly status: number;
      readonly envelope: boolean;
      /** the upstream's own 529 (passed on when overloads outlast the budget) */
      readonly upstream529: boolean;
      /** a plan's quota wall (Z.ai 1308/1310): ccp answers its own 429 (failure_class quota_wall) and keeps the wall for the credential */
      readonly wall: boolean;
    };

export type Fail = Extract<Effect, { kind: "fail" }>;

const fail = (outcomes: readonly string[], status: number, o: Partial<Fail> = {}): Fail => ({
  kind: "fail",
  outcomes,
  retryable: true,
  overload: false,
  retryAfterMs: undefined,
  status,
  envelope: true,
  upstream529: false,
  wall: false,
  ...o,
});

/** A connection or stream cut: h2 may see it as the stream's reset, a refused stream or the session's death. */
const CUT: Record<Transport, readonly string[]> = { h1: ["reset"], h2: ["reset", "goaway", "dead_session"] };

export const protocolFailure = fail(["protocol"], 502);
export const headersTimeout = fail(["headers_timeout"], 504);
/** The upstream cut the response (reset, RST_STREAM, GOAWAY) or went silent before commit. */
export const cutFailure = (t: Transport, then: RawEnd): Fail => (then === "stall" ? fail(["idle_timeout"], 504) : fail(CUT[t], 502));
export const refusedFailure = (t: Transport): Fail => fail(t === "h2" ? ["goaway"] : CUT.h1, 502);
export const resetBeforeHeaders = (t: Transport): Fail => fail(CUT[t], 502);
export const isCut = (then: RawEnd): boolean => then === "reset" || then === "rst_stream" || then === "goaway" || then === "stall";

export const STATUS_TYPE: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  502: "api_error",
  503: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};
const TYPE_STATUS: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};
/** Quota walls and prompt errors: never retried (Z.ai codes, PROTOCOL.md). */
const NEVER_RETRY = /\[(1113|1304|1308|1261)\]/;
/** Plan walls among them: the lane is walled for the credential until the reset (a one-lane route: ccp's 429). */
const WALL = /\[(1308|1310)\]/;
/** Burst limits: retried as overloads. */
const BURST = /\[(1302|1303|1305)\]/;

export function isEnvelope(text: string): boolean {
  try {
    const v = JSON.parse(text) as { type?: unknown; error?: { type?: unknown; message?: unknown } } | null;
    return v?.type === "error" && typeof v.error?.type === "string" && typeof v.error.message === "string";
  } catch {
    return false;
  }
}

/** An error status with its body: 429/5xx retried (429, 503, 529 as overloads), the rest passed on as they came. */
export function statusEffect(status: number, body: string, retryAfter: string | undefined): Fail {
  const wall = NEVER_RETRY.test(body);
  const retryable = !wall && [429, 500, 502, 503, 504, 529].includes(status);
  return fail(["http_status"], status, {
    retryable,
    overload: retryable && [429, 503, 529].includes(status),
    retryAfterMs: retryAfter === undefined ? undefined : Number(retryAfter) * 1000,
    envelope: isEnvelope(body),
    upstream529: status === 529,
    ...(WALL.test(body) ? { wall: true, status: 429, envelope: true } : {}),
  });
}

/** An `event: error` before commit, or an error envelope in a 2xx: judged by its type and code; answered with the status its type stands for. */
export function errorEffect(type: string, message: string): Fail {
  const wall = NEVER_RETRY.test(message);
  const burst = BURST.test(message);
  const overload = !wall && (burst || type === "rate_limit_error" || type === "overloaded_error");
  const retryable = !wall && (overload || type === "api_error" || type === "timeout_error");
  return fail(["in_stream_error"], WALL.test(message) ? 429 : (TYPE_STATUS[type] ?? 500), { retryable, overload, wall: WALL.test(message) });
}

/** Errors a provider sends in a stream or a 2xx body, with how ccp must judge them. */
export const IN_STREAM_ERRORS: readonly { readonly type: string; readonly message: string }[] = [
  { type: "overloaded_error", message: "Overloaded" },
  { type: "rate_limit_error", message: "[1302] High concurrency usage of this API, please reduce concurrency" },
  { type: "api_error", message: "Internal server error" },
  { type: "timeout_error", message: "Request timed out" },
  { type: "invalid_request_error", message: "messages: text content blocks must be non-empty" },
  { type: "rate_limit_error", message: "[1308] Usage limit reached for 5 hour" },
  { type: "authentication_error", message: "invalid x-api-key" },
];

/**
 * An event stream cut at `cut` chars, then ended as `then`: before message_start only pings and
 * events ccp does not know may come (an error is judged, another Messages event is `protocol`); after it, the first other event
 * commits (an error there is still judged); after commit, a clean end is closed by ccp, a cut
 * breaks the stream with an error frame, and an upstream error frame ends it. A stream whose
 * message_stop has arrived is the whole answer, whatever the connection does next.
 */
export function judgeStream(placed: readonly Placed[], cut: number, then: RawEnd, t: Transport, fullText: string): Effect {
  let state: "pre" | "started" | "committed" = "pre";
  let stopped = false;
  let text = "";
  for (const f of placed) {
    if (f.dispatch > cut) break;
    if (f.event === null || f.event === "ping") continue;
    // Events ccp does not know are held with the pings before commit (PROTOCOL.md: pass them on).
    if (state !== "committed" && !MESSAGE_EVENTS.has(f.event)) continue;
    if (state !== "committed") {
      if (f.event === "error") return errorEffect(f.error!.type, f.error!.message);
      if (state === "pre") {
        if (f.event !== "message_start") return protocolFailure;
        state = "started";
        continue;
      }
      state = "committed";
    }
    if (f.event === "error") return { kind: "error_after", errType: f.error!.type, text };
    if (f.delta !== undefined) text += f.delta;
    if (f.event === "message_stop") stopped = true;
  }
  if (state !== "committed") return isCut(then) ? cutFailure(t, then) : protocolFailure;
  if (stopped) return { kind: "complete", text: fullText };
  if (!isCut(then)) return { kind: "closed", text };
  return { kind: "broken", outcomes: then === "stall" ? ["idle_timeout"] : CUT[t], text };
}

/** The events of a Messages stream (ccp's peek.ts): any other is held and passed on unjudged before commit. */
const MESSAGE_EVENTS: ReadonlySet<string> = new Set(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop", "error"]);

/** Where a stream commits: the dispatch offsets of message_start and of the first Messages event after it. */
export function commitPoints(placed: readonly Placed[]): { start: number; commit: number; stop: number } {
  const start = placed.find((f) => f.event === "message_start");
  const after = start ? placed.slice(placed.indexOf(start) + 1).find((f) => f.event !== null && MESSAGE_EVENTS.has(f.event)) : undefined;
  const stop = placed.find((f) => f.event === "message_stop");
  return {
    start: start?.dispatch ?? Number.POSITIVE_INFINITY,
    commit: after?.dispatch ?? Number.POSITIVE_INFINITY,
    stop: stop?.dispatch ?? Number.POSITIVE_INFINITY,
  };
}

/**
 * A body that is not an event stream, read whole before commit: an error status is judged by
 * status and body; a 2xx/3xx must be a Message (`type: "message"`), an error envelope is judged
 * as an in-stream error, anything else is `protocol`. A cut body fails the attempt.
 */
export function judgeWhole(status: number, body: string, cut: number, then: RawEnd, t: Transport, retryAfter: string | undefined): Effect {
  if (isCut(then)) return cutFailure(t, then);
  const got = body.slice(0, cut);
  if (status >= 400) return statusEffect(status, got, retryAfter);
  let json: { type?: unknown; error?: { type?: unknown; message?: unknown }; content?: { text?: unknown }[] } | undefined;
  try {
    json = JSON.parse(got) as typeof json;
  } catch {
    json = undefined;
  }
  if (json?.type === "error") return errorEffect(String(json.error?.type ?? "error"), String(json.error?.message ?? ""));
  if (json?.type === "message") return { kind: "complete", text: String(json.content?.[0]?.text ?? "") };
  return protocolFailure;
}
