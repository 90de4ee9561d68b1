// Shared between the Node-side fake upstream (server.ts) and the Bun-side client
// (index.ts). Pure TypeScript: no Bun or Node APIs in here.

export { type QuotaAnswer, zaiQuotaBody, zaiWall } from "./zai.ts";

export interface Match {
  /** e.g. "/zai" matches "/zai/v1/messages" (plain string prefix of the request path). */
  pathPrefix?: string;
  /** exact match on the request body's "model" field. */
  model?: string;
  /** restrict to one endpoint; default: any endpoint scripts apply to (messages and count_tokens). */
  endpoint?: "messages" | "count_tokens";
  /** restrict to requests that arrived over this protocol. */
  protocol?: "h2" | "http/1.1";
}

export type Behaviour =
  | {
      kind: "normal";
      text?: string;
      /** between events, ms (default 0) */
      delayMs?: number;
      /** response headers are sent immediately, the first SSE event after this delay */
      firstEventDelayMs?: number;
      /** `event: ping` frames sent (spread over firstEventDelayMs) before message_start */
      pingsBeforeFirst?: number;
      /** silence of pauseMs once this many events have been sent (a quiet stream mid-way) */
      pauseAfterEvents?: number;
      pauseMs?: number;
    }
  /**
   * A thinking + text + tool_use message (richFrames when streaming, else richMessage). The
   * thinking block's signature is RICH_SIGNATURE, or, while verifySignatures is on, one made by
   * this instance for the request's realm (index.ts, verifySignatures). `redacted`: a
   * redacted_thinking block follows the thinking block, its `data` RICH_REDACTED_DATA or, while
   * verifying, made by this instance for the realm.
   */
  | { kind: "rich"; redacted?: boolean }
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: "sse"; frames: string; status?: number }
  | { kind: "stall_headers" }
  /** headers + `afterEvents` (default 1) events, then silence (until reset/close). */
  | { kind: "stall_mid_stream"; afterEvents?: number }
  /**
   * Destroy the TLS socket (h1: the request's connection; h2: the session's whole
   * connection, no GOAWAY). afterEvents undefined: before any response header;
   * N >= 0: after the 200 headers + N SSE events (non-streaming JSON bodies count as
   * 2 "events", the two halves of the body).
   */
  | { kind: "reset"; afterEvents?: number }
  /**
   * h2: GOAWAY(NO_ERROR) then destroy the session ~50 ms later, which cuts the stream.
   * afterEvents undefined: before headers, with last-stream-id below this stream (the
   * client sees REFUSED_STREAM: safe to retry; a session's first stream, whose last-stream-id
   * would be 0, which Node does not send, is refused with RST_STREAM REFUSED_STREAM first); N: after headers + N events, with
   * last-stream-id = this stream. N >= number of events: graceful, the response
   * completes, then GOAWAY + session.close(). h1: behaves like reset.
   */
  | { kind: "goaway"; afterEvents?: number }
  /**
   * Never read the request body, never answer. Decided when the request headers
   * arrive, so it only stalls the upload if no model-constrained script is ahead of it
   * (use a pathPrefix match). h2: 64 KiB stream window, never reopened; the connection
   * window is large so other streams on the connection are unaffected.
   */
  | { kind: "stall_upload" }
  | { kind: "end_without_stop" }
  /**
   * Any response, as given: status, headers (pairs, so a name may repeat) and body pieces,
   * written delayMs apart. An upstream that echoes the credential it was sent: in a header
   * value or a piece, `{{credential}}` becomes the request's x-api-key (else its bearer token),
   * `{{credential.head}}` / `{{credential.tail}}` its two halves (to cut it across pieces) and
   * `{{credential.escaped}}` it with every character a JSON \u escape. `gzip` compresses the
   * joined pieces into one, with content-encoding: gzip.
   */
  | {
      kind: "raw";
      status?: number;
      headers?: [string, string][];
      pieces: string[];
      delayMs?: number;
      gzip?: boolean;
      /** ms before each piece (piece i waits waits[i]; a missing entry: delayMs); the head is sent at once. */
      waits?: number[];
      /** ms before the response head (a slow first byte). */
      headersDelayMs?: number;
      /** Each piece goes out in writes of at most this many bytes (1: byte by byte, UTF-8 characters split). */
      chunkBytes?: number;
      /** What follows the last piece (default "end"); see RawEnd. */
      then?: RawEnd;
      /** then: "rst_stream": the RST_STREAM error code (default 2, INTERNAL_ERROR). */
      code?: number;
    }
  /** h2: RST_STREAM (`code`, default 2 INTERNAL_ERROR; 7 REFUSED_STREAM is "never processed") before any response header. h1: as reset. */
  | { kind: "rst_stream"; code?: number };

/**
 * How a raw response ends once its pieces are out (each after they have reached the socket):
 * - "end": cleanly (h1: the last chunk, or the Content-Length given; h2: END_STREAM);
 * - "reset": the connection destroyed (as the reset behaviour: on h2 the whole session);
 * - "rst_stream": h2: this stream reset with `code`, the session untouched; h1: as reset;
 * - "goaway": h2: GOAWAY(NO_ERROR, last-stream-id = this stream), the session destroyed 50 ms
 *   later, which cuts the stream; h1: as reset;
 * - "end_goaway": the response ends cleanly, then h2: GOAWAY and a graceful session close;
 *   h1: the response carries `connection: close` and the connection closes after it;
 * - "stall": silence, the response never ends (until the client gives up, or reset()).
 */
export type RawEnd = "end" | "reset" | "rst_stream" | "goaway" | "end_goaway" | "stall";

/** Fills the {{credential...}} placeholders of a raw behaviour. */
export function withCredential(text: string, credential: string): string {
  const half = Math.floor(credential.length / 2);
  const escaped = [...credential].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
  return text
    .replaceAll("{{credential}}", credential)
    .replaceAll("{{credential.head}}", credential.slice(0, half))
    .replaceAll("{{credential.tail}}", credential.slice(half))
    .replaceAll("{{credential.escaped}}", escaped);
}

export interface RecordedRequest {
  protocol: "h2" | "http/1.1";
  /** The client's address:port of the connection that carried the request (tells connections apart). */
  connection: string;
  method: string;
  /** path with query */
  path: string;
  /** lower-cased names; multi-valued headers joined with ", " */
  headers: Record<string, string>;
  model?: string;
  stream?: boolean;
  /** bytes of request body received (0 for stall_upload, which never reads it) */
  bodyBytes: number;
  /** the request body as text (bodies up to 512 KiB) */
  body?: string;
  /**
   * behaviour kind applied ("normal" when no script matched; "models", "head", "not_found" for
   * non-scripted routes; "quota" / "quota_unauthorized" for the quota endpoint; "invalid_signature"
   * / "missing_thinking" for a messages request refused while verifySignatures is on)
   */
  behaviour: string;
  /** ms epoch when the request headers arrived */
  at: number;
}

export interface ReadyLine {
  port: number;
  controlPort: number;
  blackholePort: number;
  caFile: string;
}

export const STATUS_ERROR_TYPES: Record<number, string> = {
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

const STATUS_MESSAGES: Record<string, string> = {
  invalid_request_error: "Invalid request (fake upstream)",
  authentication_error: "invalid x-api-key (fake upstream)",
  permission_error: "Your API key does not have permission to use the specified resource. (fake upstream)",
  not_found_error: "Not found (fake upstream)",
  request_too_large: "Request exceeds the maximum allowed number of bytes. (fake upstream)",
  rate_limit_error: "Number of request tokens has exceeded your per-minute rate limit (fake upstream)",
  api_error: "Internal server error (fake upstream)",
  timeout_error: "Request timed out (fake upstream)",
  overloaded_error: "Overloaded (fake upstream)",
};

export function errorTypeForStatus(status: number): string {
  return STATUS_ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

export function errorEnvelope(status: number, requestId: string): unknown {
  const type = errorTypeForStatus(status);
  return { type: "error", error: { type, message: STATUS_MESSAGES[type] ?? type }, request_id: requestId };
}

export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const USAGE_START = {
  input_tokens: 25,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: 1,
} as const;

/** Split text into (up to) 3 deterministic pieces; "ok" -> ["o", "k"]. */
export function splitText(text: string): string[] {
  if (text.length === 0) return [""];
  const size = Math.max(1, Math.ceil(text.length / 3));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/**
 * The frames of a normal text stream. The stream is "cut" (no content_block_stop,
 * message_delta, message_stop) when `withStop` is false.
 */
export function normalFrames(opts: { id: string; model: string; text: string; withStop?: boolean }): string[] {
  const frames: string[] = [
    sseFrame("message_start", {
      type: "message_start",
      message: {
        id: opts.id,
        type: "message",
        role: "assistant",
        model: opts.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...USAGE_START },
      },
    }),
    sseFrame("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    sseFrame("ping", { type: "ping" }),
  ];
  for (const piece of splitText(opts.text)) {
    frames.push(sseFrame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } }));
  }
  if (opts.withStop === false) return frames;
  frames.push(
    sseFrame("content_block_stop", { type: "content_block_stop", index: 0 }),
    sseFrame("message_delta", {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 5 },
    }),
    sseFrame("message_stop", { type: "message_stop" }),
  );
  return frames;
}

/** Non-streaming Message body matching normalFrames. */
export function normalMessage(opts: { id: string; model: string; text: string }): unknown {
  return {
    id: opts.id,
    type: "message",
    role: "assistant",
    model: opts.model,
    content: [{ type: "text", text: opts.text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { ...USAGE_START, output_tokens: 5 },
  };
}

export const RICH_MESSAGE_ID = "msg_fake_rich_0001";
export const RICH_TOOL_ID = "toolu_fake_rich_0001";
export const RICH_THINKING = "Let me think about this. The user wants the weather.";
/** The thinking signature of a rich answer while verifySignatures is off (no instance accepts it while on). */
export const RICH_SIGNATURE = "EqQBCkYIBBgCKkBfakeSignatureForTestsOnly0123456789abcdefABCDEF==";
/** The redacted_thinking data of a rich answer (redacted: true) while verifySignatures is off. */
export const RICH_REDACTED_DATA = "EmwKAhgBEgyFakeRedactedThinkingForTestsOnly0123456789abcdefABCDEFGHIJ==";
export const RICH_TEXT = "I'll check the weather for you.";
export const RICH_TOOL_NAME = "get_weather";
export const RICH_TOOL_INPUT = { location: "San Francisco, CA", unit: "celsius" };
const RICH_TOOL_JSON_PARTS = ['{"location"', ': "San Fra', 'ncisco, CA"', ', "unit": "cel', 'sius"}'];

/** What a rich answer carries besides the fixed content: the thinking signature and a redacted_thinking block. */
export interface RichOptions {
  /** default RICH_SIGNATURE */
  signature?: string;
  /** add a redacted_thinking block after the thinking block */
  redacted?: boolean;
  /** its data, default RICH_REDACTED_DATA */
  redactedData?: string;
}

function richStart(model: string): string {
  const message = { id: RICH_MESSAGE_ID, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { ...USAGE_START } };
  return sseFrame("message_start", { type: "message_start", message });
}

const delta = (index: number, d: Record<string, string>): string => sseFrame("content_block_delta", { type: "content_block_delta", index, delta: d });
const blockStart = (index: number, block: unknown): string => sseFrame("content_block_start", { type: "content_block_start", index, content_block: block });
const blockStop = (index: number): string => sseFrame("content_block_stop", { type: "content_block_stop", index });

/**
 * Deterministic thinking (+ redacted_thinking) + text + tool_use stream (stop_reason tool_use).
 * Only depends on `model` and the options.
 */
export function richFrames(model: string, o: RichOptions = {}): string[] {
  const frames: string[] = [richStart(model), blockStart(0, { type: "thinking", thinking: "", signature: "" }), sseFrame("ping", { type: "ping" })];
  for (const piece of splitText(RICH_THINKING)) frames.push(delta(0, { type: "thinking_delta", thinking: piece }));
  frames.push(delta(0, { type: "signature_delta", signature: o.signature ?? RICH_SIGNATURE }), blockStop(0));
  const text = o.redacted ? 2 : 1;
  if (o.redacted) frames.push(blockStart(1, { type: "redacted_thinking", data: o.redactedData ?? RICH_REDACTED_DATA }), blockStop(1));
  frames.push(blockStart(text, { type: "text", text: "" }));
  for (const piece of splitText(RICH_TEXT)) frames.push(delta(text, { type: "text_delta", text: piece }));
  frames.push(blockStop(text), blockStart(text + 1, { type: "tool_use", id: RICH_TOOL_ID, name: RICH_TOOL_NAME, input: {} }));
  for (const part of RICH_TOOL_JSON_PARTS) frames.push(delta(text + 1, { type: "input_json_delta", partial_json: part }));
  frames.push(
    blockStop(text + 1),
    sseFrame("message_delta", {
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { output_tokens: 89 },
    }),
    sseFrame("message_stop", { type: "message_stop" }),
  );
  return frames;
}

/** Non-streaming Message equivalent of richFrames. */
export function richMessage(model: string, o: RichOptions = {}): unknown {
  return {
    id: RICH_MESSAGE_ID,
    type: "message",
    role: "assistant",
    model,
    content: [
      { type: "thinking", thinking: RICH_THINKING, signature: o.signature ?? RICH_SIGNATURE },
      ...(o.redacted ? [{ type: "redacted_thinking", data: o.redactedData ?? RICH_REDACTED_DATA }] : []),
      { type: "text", text: RICH_TEXT },
      { type: "tool_use", id: RICH_TOOL_ID, name: RICH_TOOL_NAME, input: RICH_TOOL_INPUT },
    ],
    stop_reason: "tool_use",
    stop_sequence: null,
    usage: { ...USAGE_START, output_tokens: 89 },
  };
}

export const MODELS_LIST = {
  data: [
    { type: "model", id: "claude-sonnet-4-5-20250929", display_name: "Claude Sonnet 4.5", created_at: "2025-09-29T00:00:00Z" },
    { type: "model", id: "claude-opus-4-1-20250805", display_name: "Claude Opus 4.1", created_at: "2025-08-05T00:00:00Z" },
    { type: "model", id: "claude-haiku-4-5-20251001", display_name: "Claude Haiku 4.5", created_at: "2025-10-01T00:00:00Z" },
  ],
  has_more: false,
  first_id: "claude-sonnet-4-5-20250929",
  last_id: "claude-haiku-4-5-20251001",
};
