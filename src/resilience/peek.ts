import { messageToSse } from "../sse/message-to-sse.ts";
import { newObservation, observedDataOf, observeEvent, observeJsonBody, type StreamObservation } from "../sse/observer.ts";
import { SseParser } from "../sse/parser.ts";
import type { ByteSource } from "../upstream/body-queue.ts";
import { contentCoding, decodeBody, withoutCoding } from "../upstream/content-coding.ts";
import { UpstreamFailure } from "../upstream/failure.ts";
import { quote } from "../upstream/quote.ts";
import type { UpstreamResponse } from "../upstream/transport.ts";

/** How a response body is read: the transport's queue (or any reader with read and cancel). */
export type ByteReader = ByteSource;

/**
 * What the client asked for, which a 2xx answer must be before it is committed: an event
 * stream of a Message (`stream: true`), one JSON Message, a token count, a model list.
 */
export type Expected = "stream" | "message" | "count" | "models";

/** Bytes held before commit are bounded: a stream of pings alone cannot grow it without end. */
const MAX_PRECOMMIT_BYTES = 1024 * 1024;
/** Non-streaming JSON answers are read whole before commit up to this size. */
const MAX_PRECOMMIT_JSON_BYTES = 16 * 1024 * 1024;
/** Error bodies are read whole (they are small) so they can be classified and passed on. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/**
 * After `message_start`, the commit waits for the next real event (the first content block),
 * so an overload error that a provider sends right after message_start is still retried. It
 * waits at most this long or this many bytes: the client sees nothing of the answer before a
 * content block anyway, and Claude Code's own idle limit (300 s) is far away, but a provider
 * that thinks for minutes before its first block must not keep message_start back that long.
 */
export const MESSAGE_START_HOLD: Hold = {
  ms: 2_000,
  bytes: 64 * 1024,
  /**
   * Pings before message_start are held too (Z.ai sends one before its burst error, which must
   * be retried), but not past this: Claude Code counts the wait for response headers against
   * API_TIMEOUT_MS, which a user may set low, and a provider pinging for minutes is alive.
   */
  pingsMs: 30_000,
};

export interface Hold {
  readonly ms: number;
  readonly bytes: number;
  readonly pingsMs: number;
}

/** The upstream produced what was asked for (or something a client can use): the response may be committed. */
export interface Committed {
  readonly kind: "commit";
  readonly response: UpstreamResponse;
  readonly sse: boolean;
  /** Bytes read while peeking, to be sent first, unchanged. */
  readonly head: Uint8Array[];
  readonly reader: ByteReader;
  readonly parser: SseParser;
  readonly observation: StreamObservation;
}

/** The upstream answered an error status; its (bounded) body has been read. */
export interface HttpStatusAnswer {
  readonly kind: "http_status";
  readonly response: UpstreamResponse;
  readonly body: Uint8Array;
}

/**
 * The upstream said "error" in a 2xx: an `event: error` before the answer's first content
 * (Z.ai's burst limit, PROTOCOL.md), or an error envelope as the whole body.
 */
export interface InStreamError {
  readonly kind: "in_stream_error";
  readonly response: UpstreamResponse;
  readonly body: Uint8Array;
  readonly observation: StreamObservation;
}

export type Peeked = Committed | HttpStatusAnswer | InStreamError;

/** The events of a Messages stream; any other (but error) is passed on unjudged. */
const MESSAGE_EVENTS: ReadonlySet<string> = new Set(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop", "error"]);

const headerOf = (r: UpstreamResponse, name: string) => r.headers.find(([k]) => k === name)?.[1];
const isEventStream = (r: UpstreamResponse) => (headerOf(r, "content-type") ?? "").toLowerCase().startsWith("text/event-stream");
const decoder = new TextDecoder();

/** What came back, for a protocol failure's message: status, content type and the first bytes, on one line. */
function described(r: UpstreamResponse, bytes: Uint8Array): string {
  const first = quote(
    decoder
      .decode(bytes.subarray(0, 1024))
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ")
      .trim(),
    160,
  );
  return `HTTP ${r.status}, content-type ${headerOf(r, "content-type") ?? "(none)"}, ${first ? `body ${JSON.stringify(first)}` : "empty body"}`;
}

/**
 * Reads just enough of a response to decide whether it can be committed to the client: an
 * error status is read whole; a 2xx must be what was asked for (anything else, a JSON error
 * envelope aside, is a `protocol` failure, retried like one); a stream is held until its first
 * content block (MESSAGE_START_HOLD). Throws UpstreamFailure when the body breaks or is wrong.
 */
export async function peek(upstream: UpstreamResponse, expects: Expected = "stream", hold: Hold = MESSAGE_START_HOLD, onStarted?: () => void): Promise<Peeked> {
  const reader = upstream.body;
  const coding = contentCoding(upstream.headers);
  const refuse = (why: string) => {
    void reader.cancel().catch(() => {});
    return new UpstreamFailure("protocol", why);
  };
  if (coding === undefined)
    throw refuse(`the upstream answered in a content coding ccp cannot read (content-encoding: ${quote(headerOf(upstream, "content-encoding") ?? "", 40)}), though ccp asked for identity`);
  // A body read whole is decoded here, so everything after the peek sees plain bytes.
  const decoded = (bytes: Uint8Array, max: number): Uint8Array => {
    const out = decodeBody(coding, bytes, max);
    if (out instanceof Error) throw refuse(`the upstream answered with a ${coding} body that cannot be decoded (${out.message}), though ccp asked for identity`);
    return out;
  };
  const response = coding === "identity" ? upstream : { ...upstream, headers: withoutCoding(upstream.headers) };
  if (response.status >= 400) return { kind: "http_status", response, body: decoded(await readBounded(reader, MAX_ERROR_BODY_BYTES), MAX_ERROR_BODY_BYTES) };
  if (!isEventStream(response)) {
    const { parts, done } = await readUpTo(reader, MAX_PRECOMMIT_JSON_BYTES);
    if (!done && coding !== "identity") throw refuse(`the upstream answered with a ${coding} body over ${MAX_PRECOMMIT_JSON_BYTES} bytes, though ccp asked for identity`);
    const head = coding === "identity" ? parts : [decoded(concat(parts), MAX_PRECOMMIT_JSON_BYTES)];
    return judgeWhole(response, head, done, reader, expects, refuse);
  }
  // An event stream is passed on as it arrives: ccp does not decompress streams.
  if (coding !== "identity") throw refuse(`the upstream answered with a ${coding}-encoded event stream, though ccp asked for identity`);
  if (expects !== "stream") throw refuse(`the upstream answered an event stream to a request that did not ask for one (${described(response, new Uint8Array(0))})`);
  return peekStream(response, reader, hold, refuse, onStarted);
}

/** A 2xx body read whole (or its first 16 MiB): the JSON that was asked for, or why it is not. */
function judgeWhole(response: UpstreamResponse, head: Uint8Array[], done: boolean, reader: ByteReader, expects: Expected, refuse: (why: string) => UpstreamFailure): Peeked {
  const bytes = concat(head);
  const observation = newObservation();
  const committed = (r: UpstreamResponse, h: Uint8Array[], sse: boolean): Committed => ({
    kind: "commit",
    response: r,
    sse,
    head: h,
    reader,
    parser: new SseParser(observedDataOf(observation)),
    observation,
  });
  // Past 16 MiB the body streams on unjudged (no client can use half of it either way).
  if (!done) return committed(response, head, false);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch {
    json = undefined;
  }
  const body = typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  if (body?.type === "error") {
    observeJsonBody(observation, decoder.decode(bytes));
    return { kind: "in_stream_error", response, body: bytes, observation };
  }
  const fits = expects === "count" ? typeof body?.input_tokens === "number" : expects === "models" ? Array.isArray(body?.data) : body?.type === "message";
  if (!fits) throw refuse(`the upstream's answer is not ${WHAT[expects]} (${described(response, bytes)})`);
  // What was asked for, whatever its label said (text/plain, none): labelled as what it is.
  if (expects !== "stream") return committed({ ...response, headers: [...response.headers.filter(([k]) => k !== "content-type"), ["content-type", "application/json"] as const] }, head, false);
  // It ignored stream: true but answered the Message: the client gets it as the stream it asked for.
  const sse = new TextEncoder().encode(messageToSse(body!));
  const headers = [...response.headers.filter(([k]) => k !== "content-type" && k !== "content-length"), ["content-type", "text/event-stream; charset=utf-8"] as const];
  const stream = committed({ ...response, headers }, [sse], true);
  for (const ev of stream.parser.push(sse)) observeEvent(observation, ev);
  return stream;
}

const WHAT: Record<Expected, string> = {
  stream: "an event stream of a message",
  message: "a JSON message",
  count: "a token count",
  models: "a model list",
};

/** Reads a stream until its first content block: an error before it is an in-stream error; anything but message_start first is a protocol failure. */
async function peekStream(response: UpstreamResponse, reader: ByteReader, hold: Hold, refuse: (why: string) => UpstreamFailure, onStarted?: () => void): Promise<Peeked> {
  const observation = newObservation();
  const parser = new SseParser(observedDataOf(observation));
  const head: Uint8Array[] = [];
  let held = 0;
  let started: { at: number; bytes: number } | undefined;
  const since = performance.now();
  let pinged = false;
  const committed = (source: ByteReader): Committed => ({ kind: "commit", response, sse: true, head, reader: source, parser, observation });
  for (;;) {
    const next = reader.read();
    const deadline = started ? started.at + hold.ms : pinged ? since + hold.pingsMs : undefined;
    const waited = deadline === undefined ? await next : await beforeDeadline(next, deadline);
    // message_start came and the first block is slow (or pings have gone on long enough):
    // commit now; the read under way is the guard's first.
    if (waited === "late") return committed(withPending(reader, next));
    const { done, value } = waited;
    if (done) {
      const text = decoder.decode(concat(head));
      throw refuse(`the event stream ended before ${started ? "its first content block" : "its first event"}${text.trim() ? `: ${JSON.stringify(quote(text, 200))}` : " (empty body)"}`);
    }
    head.push(value);
    held += value.byteLength;
    // Every event of the chunk is observed (those after the deciding one too: they go out with it).
    let verdict: "error" | "commit" | undefined;
    let wrongFirst: string | undefined;
    for (const ev of parser.push(value)) {
      observeEvent(observation, ev);
      // Pings and events ccp does not know (PROTOCOL.md: pass them on) are held with the rest.
      const aside = ev.event === "ping" || !MESSAGE_EVENTS.has(ev.event);
      if (aside) pinged = true;
      if (verdict || wrongFirst !== undefined || aside) continue;
      if (ev.event === "error") verdict = "error";
      else if (started) verdict = "commit";
      else if (ev.event === "message_start") {
        started = { at: performance.now(), bytes: held };
        onStarted?.();
      } else wrongFirst = ev.event;
    }
    if (wrongFirst !== undefined) throw refuse(`the event stream's first event is ${JSON.stringify(quote(wrongFirst, 40))}, not message_start (${described(response, concat(head))})`);
    if (verdict === "error") {
      void reader.cancel().catch(() => {});
      return { kind: "in_stream_error", response, body: concat(head), observation };
    }
    if (verdict === "commit" || (started && held - started.bytes > hold.bytes)) return committed(reader);
    if (!started && held > MAX_PRECOMMIT_BYTES) throw refuse(`the event stream sent ${held} bytes without a first event`);
  }
}

type ReadResult = Awaited<ReturnType<ByteReader["read"]>>;

/** The read's result, or "late" when it has not come by `deadline` (performance.now() ms). */
function beforeDeadline(read: Promise<ReadResult>, deadline: number): Promise<ReadResult | "late"> {
  const ms = deadline - performance.now();
  if (ms <= 0) return Promise.resolve("late");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
  return Promise.race([read, late]).finally(() => clearTimeout(timer));
}

/** The reader, its first read being one already under way. */
function withPending(reader: ByteReader, pending: Promise<ReadResult>): ByteReader {
  let first: Promise<ReadResult> | undefined = pending;
  return {
    read() {
      const p = first ?? reader.read();
      first = undefined;
      return p;
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

/** Reads until the body ends or `max` bytes have arrived; the rest stays in the reader. */
async function readUpTo(reader: ByteReader, max: number): Promise<{ parts: Uint8Array[]; done: boolean }> {
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < max) {
    const { done, value } = await reader.read();
    if (done) return { parts, done: true };
    parts.push(value);
    size += value.byteLength;
  }
  return { parts, done: false };
}

async function readBounded(reader: ByteReader, max: number): Promise<Uint8Array> {
  const { parts, done } = await readUpTo(reader, max);
  if (!done) void reader.cancel().catch(() => {});
  return concat(parts).subarray(0, max);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
