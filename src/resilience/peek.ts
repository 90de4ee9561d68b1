import { newObservation, observedData, observeEvent, type StreamObservation } from "../sse/observer.ts";
import { SseParser } from "../sse/parser.ts";
import { contentCoding, decodeBody, withoutCoding } from "../upstream/content-coding.ts";
import { UpstreamFailure } from "../upstream/failure.ts";
import type { ByteSource } from "../upstream/body-queue.ts";
import type { UpstreamResponse } from "../upstream/transport.ts";

/** How a response body is read: the transport's queue (or any reader with read and cancel). */
export type ByteReader = ByteSource;

/** Bytes held before commit are bounded: a stream of pings alone cannot grow it without end. */
const MAX_PRECOMMIT_BYTES = 1024 * 1024;
/** Non-streaming JSON answers are read whole before commit up to this size. */
const MAX_PRECOMMIT_JSON_BYTES = 16 * 1024 * 1024;
/** Error bodies are read whole (they are small) so they can be classified and passed on. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** The upstream produced its first real event (or a non-SSE body): the response may be committed. */
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
export interface ErrorAnswer {
  readonly kind: "error_status";
  readonly response: UpstreamResponse;
  readonly body: Uint8Array;
}

/** A 200 stream whose first real event was `event: error` (Z.ai's burst limit, PROTOCOL.md). */
export interface InStreamError {
  readonly kind: "in_stream_error";
  readonly response: UpstreamResponse;
  readonly body: Uint8Array;
  readonly observation: StreamObservation;
}

export type Peeked = Committed | ErrorAnswer | InStreamError;

const isEventStream = (r: UpstreamResponse) =>
  r.headers.some(([k, v]) => k === "content-type" && v.toLowerCase().startsWith("text/event-stream"));

/**
 * Reads just enough of a response to decide whether it can be committed to the client.
 * A healthy stream is released the moment its first event arrives; nothing waits on a timer.
 * Throws UpstreamFailure when the body breaks before that point.
 */
export async function peek(upstream: UpstreamResponse): Promise<Peeked> {
  const reader = upstream.body;
  const coding = contentCoding(upstream.headers);
  const refuse = (why: string) => {
    void reader.cancel().catch(() => {});
    return new UpstreamFailure("protocol", `the upstream answered ${why}, though ccp asked for identity`);
  };
  if (coding === undefined) throw refuse(`in a content coding ccp cannot read (content-encoding: ${upstream.headers.find(([k]) => k === "content-encoding")?.[1]?.slice(0, 40)})`);
  // A body read whole is decoded here, so everything after the peek sees plain bytes.
  const decoded = (bytes: Uint8Array, max: number): Uint8Array => {
    const out = decodeBody(coding, bytes, max);
    if (out instanceof Error) throw refuse(`with a ${coding} body that cannot be decoded: ${out.message}`);
    return out;
  };
  const response = coding === "identity" ? upstream : { ...upstream, headers: withoutCoding(upstream.headers) };
  if (response.status >= 400) return { kind: "error_status", response, body: decoded(await readBounded(reader, MAX_ERROR_BODY_BYTES), MAX_ERROR_BODY_BYTES) };
  const parser = new SseParser(observedData);
  const observation = newObservation();
  if (!isEventStream(response)) {
    // A JSON body is one message: the client can use none of it until it is whole, so it is read
    // before commit (up to a bound) and a connection that breaks half-way can still be retried.
    const { parts, done } = await readUpTo(reader, MAX_PRECOMMIT_JSON_BYTES);
    if (coding === "identity") return { kind: "commit", response, sse: false, head: parts, reader, parser, observation };
    if (!done) throw refuse(`with a ${coding} body over ${MAX_PRECOMMIT_JSON_BYTES} bytes`);
    return { kind: "commit", response, sse: false, head: [decoded(concat(parts), MAX_PRECOMMIT_JSON_BYTES)], reader, parser, observation };
  }
  // An event stream is passed on as it arrives: ccp does not decompress streams.
  if (coding !== "identity") throw refuse(`with a ${coding}-encoded event stream`);

  const head: Uint8Array[] = [];
  let held = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      const text = new TextDecoder().decode(concat(head));
      throw new UpstreamFailure("protocol", `the event stream ended before its first event${text.trim() ? `: ${text.slice(0, 200)}` : " (empty body)"}`);
    }
    head.push(value);
    held += value.byteLength;
    // Every event of the chunk is observed (those after the first too: they go out with it).
    let first: string | undefined;
    for (const ev of parser.push(value)) {
      observeEvent(observation, ev);
      if (first === undefined && ev.event !== "ping") first = ev.event;
    }
    if (first === "error") {
      void reader.cancel().catch(() => {});
      return { kind: "in_stream_error", response, body: concat(head), observation };
    }
    // message_start, or anything else a tolerant proxy should not hold back.
    if (first !== undefined) return { kind: "commit", response, sse: true, head, reader, parser, observation };
    if (held > MAX_PRECOMMIT_BYTES) return { kind: "commit", response, sse: true, head, reader, parser, observation };
  }
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
