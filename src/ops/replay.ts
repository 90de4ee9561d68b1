import type { LaneSettings } from "../config/schema.ts";
import { REDACTED } from "../usage/redact.ts";
import type { UsageLine } from "./usage-filter.ts";

/** A capture file as `ccp replay` reads it (usage/capture.ts writes it). */
export interface Captured {
  readonly rid: string;
  readonly record: UsageLine;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
  readonly truncated: boolean;
  readonly response: { readonly body: string; readonly truncated: boolean };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The capture's parts, or why it cannot be sent again. */
export function parseCapture(text: string): Captured | { readonly error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { error: "it is not a capture file (not JSON)" };
  }
  if (!isObject(v) || !isObject(v.record) || !isObject(v.request) || !isObject(v.response)) return { error: "it is not a capture file" };
  const { request, response } = v;
  return {
    rid: String(v.rid),
    record: v.record as UsageLine,
    headers: isObject(request.headers) ? (request.headers as Record<string, string>) : {},
    body: typeof request.body === "string" ? request.body : null,
    truncated: request.truncated === true,
    response: { body: typeof response.body === "string" ? response.body : "", truncated: response.truncated === true },
  };
}

/** Whose credentials the replay uses; never their value. */
export type Credentials =
  | { readonly kind: "lane-key"; readonly lane: string; readonly variable: string; readonly ignored: string | undefined }
  | { readonly kind: "caller"; readonly variable: string; readonly header: "x-api-key" | "authorization" };

export const describeCredentials = (c: Credentials): string =>
  c.kind === "lane-key"
    ? `lane ${c.lane}'s own key ($${c.variable}), which ccp puts in${c.ignored ? ` (your $${c.ignored} is not sent: the lane replaces client credentials)` : ""}`
    : `yours, from $${c.variable}, as ${c.header}`;

export interface ReplayOptions {
  readonly lane?: string | undefined;
  readonly transport?: "h1" | "h2" | "auto" | undefined;
  readonly apiKeyEnv?: string | undefined;
}

export interface ReplayPlan {
  readonly path: string;
  /** Without credentials, replay key and proxy key: the command adds them (their values never pass through here). */
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly lane: string;
  readonly credentials: Credentials;
}

export type Planned = ReplayPlan | { readonly error: string; readonly hint?: string | undefined; readonly code: 1 | 2 };

const PATHS: Record<string, string> = { messages: "/v1/messages", count_tokens: "/v1/messages/count_tokens" };
/** What the capture keeps of the request that is not the client's to resend: framing, the hop, credentials and ccp's own headers. */
const DROP = /^(host|content-length|connection|keep-alive|transfer-encoding|te|upgrade|expect|accept-encoding|x-api-key|authorization|cookie|x-ccp-.*)$/i;

/**
 * What to send for a captured request: its body and headers as they came (credentials are never
 * in a capture: the lane's key or the caller's, --api-key-env), to the lane it first went to
 * unless another is given. Pure; an error when the capture cannot be sent again (a body cut
 * short, a /v1/models request) or the credentials are missing.
 */
export function planReplay(c: Captured, o: ReplayOptions, lanes: Readonly<Record<string, Pick<LaneSettings, "auth" | "key_env">>>): Planned {
  const path = PATHS[String(c.record.op ?? "messages")];
  if (!path) return { error: `${c.rid} was a ${c.record.op} request: only messages and count_tokens requests are replayed`, code: 1 };
  if (c.body === null) return { error: `the capture of ${c.rid} holds no request body`, code: 1 };
  if (c.truncated) return { error: `the capture of ${c.rid} holds only part of its request body (it was over 1 MiB): it cannot be sent again`, code: 1 };
  const lane = o.lane ?? c.record.attempts?.[0]?.lane ?? c.record.lane ?? undefined;
  if (lane === undefined) return { error: `${c.rid} reached no lane then: name one with --lane`, code: 2 };
  const settings = Object.hasOwn(lanes, lane) ? lanes[lane] : undefined;
  if (!settings) return { error: `no lane "${lane}" in this config`, hint: `lanes: ${Object.keys(lanes).join(", ")}`, code: 2 };
  let credentials: Credentials;
  if (settings.auth === "key") credentials = { kind: "lane-key", lane, variable: settings.key_env ?? "?", ignored: o.apiKeyEnv };
  else if (o.apiKeyEnv === undefined) {
    return {
      error: `lane "${lane}" passes the client's own credentials on, and captures hold none`,
      hint: "give --api-key-env VAR, the environment variable that holds your key (or a lane with its own key: --lane)",
      code: 2,
    };
  } else credentials = { kind: "caller", variable: o.apiKeyEnv, header: c.record.header_mode === "authorization" ? "authorization" : "x-api-key" };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.headers)) if (!DROP.test(name) && value !== REDACTED) headers[name] = value;
  headers["content-type"] ??= "application/json";
  return { path, headers, body: c.body, lane, credentials };
}

/** What came back, once: then (the capture) or now (the replay). */
export interface Side {
  readonly rid: string | null;
  readonly status: number | null;
  readonly lane: string | null;
  readonly protocol: string;
  readonly attempts: readonly string[];
  readonly ttft_ms: number | null;
  readonly stop_reason: string | null;
  readonly input_tokens: number | null;
  readonly output_tokens: number | null;
  readonly failure_class: string | null;
  /** The answer's text (text deltas, or a message's text blocks, or an error's message). */
  readonly answer: string | null;
}

export function sideOf(r: UsageLine | undefined, body: string | undefined): Side {
  const attempts = r?.attempts ?? [];
  return {
    rid: r?.rid ?? null,
    status: r?.status ?? null,
    lane: r?.lane ?? null,
    protocol: attempts.at(-1)?.protocol ?? "none",
    attempts: attempts.map((a) => `${a.lane} ${a.protocol} ${a.outcome}`),
    ttft_ms: r?.ttft_ms ?? null,
    stop_reason: r?.stop_reason ?? null,
    input_tokens: r?.input_tokens ?? null,
    output_tokens: r?.output_tokens ?? null,
    failure_class: r?.failure_class ?? null,
    answer: body === undefined ? null : answerText(body),
  };
}

/** The text of an answer: an SSE stream's text deltas, a JSON message's text blocks, or an error's message. Pure. */
export function answerText(body: string): string | null {
  const trimmed = body.trimStart();
  if (trimmed.startsWith("{")) {
    try {
      const v = JSON.parse(trimmed) as { content?: { type?: string; text?: string }[]; error?: { message?: string }; input_tokens?: number };
      if (Array.isArray(v.content)) return v.content.flatMap((b) => (b.type === "text" && typeof b.text === "string" ? [b.text] : [])).join("");
      if (typeof v.error?.message === "string") return v.error.message;
      if (typeof v.input_tokens === "number") return `input_tokens ${v.input_tokens}`;
    } catch {
      return null;
    }
    return null;
  }
  let text = "";
  let seen = false;
  for (const line of body.split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue;
    try {
      const d = JSON.parse(line.slice(5)) as { delta?: { type?: string; text?: string }; error?: { message?: string } };
      if (d.delta?.type === "text_delta" && typeof d.delta.text === "string") text += d.delta.text;
      else if (typeof d.error?.message === "string") text += `[error] ${d.error.message}`;
      seen = true;
    } catch {
      // not JSON: a comment or a cut line
    }
  }
  return seen ? text : null;
}
