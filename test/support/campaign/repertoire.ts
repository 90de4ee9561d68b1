import type { RawEnd } from "../fake-upstream/index.ts";
import { headersTimeout, IN_STREAM_ERRORS, judgeWhole, refusedFailure, resetBeforeHeaders, STATUS_TYPE, TIMEOUTS } from "./effects.ts";
import { answerText, codePointBoundary, int, pick, place, PLAIN, type Rnd } from "./sse.ts";
import { duration, raw, RST_CODES, SLACK_MS, type Step, type StepCtx, THENS } from "./steps.ts";
import { compressedStream, messageStream, sseToNonStream, streamAfterCommit, streamBeforeCommit, streamStep } from "./stream-steps.ts";

export type { Step, StepCtx } from "./steps.ts";

// The campaign's repertoire (issue 19): what an upstream can do to one attempt, drawn at random.
// The first attempts of a case draw failures, the last anything. Event streams are in
// stream-steps.ts; here are the error statuses, the 2xx and 3xx bodies that are not what was
// asked for, the failures before any head, and the JSON answers.

type Gen = (c: StepCtx) => Step;

function weighted(rnd: Rnd, table: readonly (readonly [number, Gen])[]): Gen {
  const total = table.reduce((n, [w]) => n + w, 0);
  let x = rnd() * total;
  for (const [w, g] of table) if ((x -= w) < 0) return g;
  return table.at(-1)![1];
}

/** Failures for the first attempts: mostly ones a retry can save, some it cannot. */
export function failureStep(c: StepCtx): Step {
  return weighted(c.rnd, [
    [3, errorStatus],
    [2, lying2xx],
    [3, c.stream ? streamBeforeCommit : sseToNonStream],
    [1.2, beforeHeaders],
    [1, jsonCut],
    [0.4, compressedStream],
  ])(c);
}

/** Any outcome, for the last scripted attempt. */
export function anyStep(c: StepCtx): Step {
  return weighted(c.rnd, [
    [5, answer],
    [c.stream ? 3 : 0, streamAfterCommit],
    [4, failureStep],
  ])(c);
}

// ---------------------------------------------------------------- JSON and other bodies

function messageJson(c: StepCtx, text: string): string {
  const usage = { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 5 };
  return JSON.stringify({
    id: `msg_campaign_${c.n}_${c.attempt}`,
    type: "message",
    role: "assistant",
    model: c.model,
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage,
  });
}

/** A whole body (not an event stream): `where` says whether it arrives whole. */
function wholeStep(
  c: StepCtx,
  o: {
    status: number;
    ct: string | undefined;
    body: string;
    label: string;
    where: "full" | "cut" | "any";
    retryAfter?: string;
    gzip?: boolean;
    extra?: [string, string][];
  },
): Step {
  const { rnd } = c;
  const full = o.where === "full" || (o.where === "any" && rnd() < 0.75) || o.body.length === 0;
  const then: RawEnd = o.gzip || o.status === 204 ? "end" : full ? (rnd() < 0.85 ? "end" : pick(rnd, ["end_goaway", "reset", "rst_stream", "goaway", "stall"] as const)) : pick(rnd, THENS);
  const cut = full ? o.body.length : codePointBoundary(o.body, int(rnd, 0, o.body.length - 1));
  const headers: [string, string][] = [...(o.ct ? [["content-type", o.ct] as [string, string]] : []), ...(o.extra ?? [])];
  if (o.retryAfter !== undefined) headers.push(["retry-after", o.retryAfter]);
  // A Content-Length only where the body is whole and ends cleanly (a cut one would be a reset on h1 anyway).
  if (full && then === "end" && !o.gzip && rnd() < 0.5) headers.push(["content-length", String(Buffer.byteLength(o.body))]);
  const quiet = rnd() < 0.1 ? int(rnd, 100, 400) : 0;
  const r = raw(c, { status: o.status, headers, body: o.body, cut, then, gzip: o.gzip, headersDelayMs: quiet });
  const effect = judgeWhole(o.status, o.body, cut, then, c.transport, o.retryAfter);
  const at = cut === o.body.length ? "whole" : `cut@${cut}/${o.body.length}`;
  return {
    label: `${o.status} ${o.label}${o.gzip ? " gzip" : ""} ${at} (${r.shape}) then ${then}`,
    behaviour: r.behaviour,
    effect,
    ms: duration(r.quietMs, then, effect),
  };
}

const HTML = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>";
const PLAIN_TEXT = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";

function errorStatus(c: StepCtx): Step {
  const { rnd } = c;
  const status = pick(rnd, [400, 401, 403, 404, 413, 429, 429, 429, 500, 502, 503, 504, 529, 529]);
  const type = STATUS_TYPE[status]!;
  const message = status === 429 && rnd() < 0.2 ? "[1308] Usage limit reached for 5 hour" : status === 400 && rnd() < 0.2 ? "[1261] Prompt exceeds max length" : `campaign ${status}`;
  const envelope = JSON.stringify({ type: "error", error: { type, message }, request_id: `req_campaign_${c.n}_${c.attempt}` });
  const kind = pick(rnd, ["envelope", "envelope", "envelope", "html", "empty", "text", "truncated", "gzip"] as const);
  const retryAfter = [429, 503, 529].includes(status) && rnd() < 0.5 ? pick(rnd, ["0", "0", "1", "30"]) : undefined;
  const base = { status, retryAfter, label: `${kind}${retryAfter !== undefined ? ` retry-after ${retryAfter}` : ""} "${message.slice(0, 16)}"` };
  switch (kind) {
    case "envelope":
      return wholeStep(c, { ...base, ct: "application/json", body: envelope, where: rnd() < 0.85 ? "full" : "cut" });
    case "gzip":
      return wholeStep(c, { ...base, ct: "application/json", body: envelope, where: "full", gzip: true });
    case "truncated":
      return wholeStep(c, { ...base, ct: "application/json", body: envelope, where: "cut" });
    case "html":
      return wholeStep(c, { ...base, ct: "text/html; charset=utf-8", body: HTML, where: "any" });
    case "text":
      return wholeStep(c, { ...base, ct: "text/plain", body: PLAIN_TEXT, where: "any" });
    default:
      return wholeStep(c, { ...base, ct: rnd() < 0.5 ? "application/json" : undefined, body: "", where: "full" });
  }
}

/** 2xx (and 3xx) answers that are not what was asked for, whatever their content type says. */
function lying2xx(c: StepCtx): Step {
  const { rnd } = c;
  const err = pick(rnd, IN_STREAM_ERRORS);
  const sse = place(messageStream(c, { timing: "none", style: PLAIN }).frames, "\n").body;
  const variants = [
    { status: 200, ct: "text/html", body: "<!doctype html><html><body>Just a moment...</body></html>", label: "html page" },
    { status: 200, ct: "text/plain", body: "OK", label: "text/plain" },
    { status: 200, ct: "application/json", body: "", label: "empty json" },
    {
      status: 200,
      ct: "application/json",
      body: JSON.stringify({ id: "chatcmpl-1", object: "chat.completion", choices: [{ message: { role: "assistant", content: "hi" } }] }),
      label: "json not a message",
    },
    {
      status: 200,
      ct: "application/json",
      body: JSON.stringify({ type: "error", error: err, request_id: "req_campaign" }),
      label: `error envelope ${err.type} "${err.message.slice(0, 12)}"`,
    },
    {
      status: 302,
      ct: "text/html",
      body: "<html><body>Moved</body></html>",
      label: "redirect",
      extra: [["location", "https://login.invalid/"]] as [string, string][],
    },
    { status: 204, ct: undefined, body: "", label: "no content" },
    { status: 200, ct: "application/json", body: sse, label: "sse labelled json" },
  ] as const;
  const v = pick(rnd, variants);
  return wholeStep(c, { ...v, extra: "extra" in v ? [...v.extra] : undefined, where: "any" });
}

/** Nothing but a head, or not even that. */
function beforeHeaders(c: StepCtx): Step {
  const { rnd } = c;
  const quick = [0, SLACK_MS] as const;
  switch (pick(rnd, ["stall", "reset", "goaway", "rst_stream", "rst_stream"] as const)) {
    case "stall":
      return {
        label: "no response head (stall_headers)",
        behaviour: { kind: "stall_headers" },
        effect: headersTimeout,
        ms: [TIMEOUTS.headers_ms, TIMEOUTS.headers_ms + SLACK_MS],
      };
    case "reset":
      return { label: "connection reset before the head", behaviour: { kind: "reset" }, effect: resetBeforeHeaders(c.transport), ms: quick };
    case "goaway":
      return {
        label: "GOAWAY before the head (stream refused)",
        behaviour: { kind: "goaway" },
        effect: c.transport === "h2" ? refusedFailure("h2") : resetBeforeHeaders("h1"),
        ms: quick,
      };
    default: {
      const code = pick(rnd, RST_CODES);
      const effect = c.transport === "h2" && code === 7 ? refusedFailure("h2") : resetBeforeHeaders(c.transport);
      return { label: `RST_STREAM ${code} before the head`, behaviour: { kind: "rst_stream", code }, effect, ms: quick };
    }
  }
}

/** A Message as JSON, cut (or whole, then cut off). */
function jsonCut(c: StepCtx): Step {
  const text = answerText(c.rnd, `c${c.n}.a${c.attempt}`, false).join("");
  return wholeStep(c, { status: 200, ct: "application/json", body: messageJson(c, text), label: "json message", where: "cut" });
}

/** A complete answer of some kind: an event stream, or a JSON Message (to a stream request: a provider ignoring stream: true). */
function answer(c: StepCtx): Step {
  const { rnd } = c;
  if (c.stream && rnd() < 0.8) return streamStep(c, messageStream(c), "full", rnd() < 0.9 ? "end" : "end_goaway");
  const text = answerText(rnd, `c${c.n}.a${c.attempt}`, rnd() < 0.05).join("");
  const ct = pick(rnd, ["application/json", "application/json", "application/json", "application/json; charset=utf-8", "text/plain"]);
  return wholeStep(c, { status: 200, ct, body: messageJson(c, text), label: `json message (${ct})`, where: "full", gzip: rnd() < 0.15 });
}
