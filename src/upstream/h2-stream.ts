import type { UpstreamFailure } from "./failure.ts";
import { FlowWindows, STREAM_WINDOW } from "./h2-flow.ts";
import { H2_ERROR, MAX_FRAME_PAYLOAD } from "./h2-frames.ts";
import { type BodySink, SinkWaiters } from "./upload.ts";

/** What a stream tells its exchange. Exactly one of end() / fail() ends it. */
export interface StreamEvents {
  /** The stream got its id and its HEADERS are on their way: a request body may be written now. */
  open?(stream: H2Stream): void;
  /** The final (non-1xx) response headers, pseudo-headers removed. */
  head(status: number, headers: [string, string][]): void;
  data(chunk: Uint8Array): void;
  /** END_STREAM arrived after the response headers. */
  end(): void;
  fail(f: UpstreamFailure): void;
}

/**
 * Where a stream is in its life (RFC 9113 §5.1), seen from the client:
 * - idle: queued behind the peer's MAX_CONCURRENT_STREAMS; no id yet, nothing sent;
 * - open: HEADERS sent, the request body still going out;
 * - half_closed_local: the request is complete (END_STREAM sent), the response is coming;
 * - closed: ended, reset or failed; frames still in flight for it are dropped.
 * No stream rests in half_closed_remote: a response complete before its upload resets the
 * rest of the body (RFC 9113 §8.1), so the stream closes at once.
 */
export type StreamState = "idle" | "open" | "half_closed_local" | "closed";

/** What a stream asks of its session. */
export interface StreamHost {
  /** The stream has body bytes to send: send what the windows and the socket allow. */
  pump(s: H2Stream): void;
  /** Give consumed bytes back with WINDOW_UPDATE if due (`bytes` more consumed; 0: what a pause held). */
  credit(s: H2Stream, bytes: number): void;
  /** End the stream from our side with RST_STREAM. */
  reset(s: H2Stream, code: number): void;
}

/**
 * One request/response stream. To its exchange it is the body sink for writeBody(): write()
 * takes the whole request body once, the session sends it as flow control allows, and "drain"
 * fires when the last byte (with END_STREAM) has been handed to the socket. To its session it
 * is a state, two flow-control windows, the unsent body, and the events to report.
 */
export class H2Stream implements BodySink {
  #id = 0;
  #state: StreamState = "idle";
  /** The part of the request body not sent yet. */
  #body: Uint8Array | undefined;
  /** The final response headers arrived: DATA may follow, and another header block must be trailers. */
  #responded = false;
  /** The reader is full: consumed bytes are not given back (the peer's sending stops at the window). */
  #paused = false;
  readonly #flow = new FlowWindows(0, STREAM_WINDOW);
  readonly #waiters = new SinkWaiters();
  readonly #host: StreamHost;
  readonly #events: StreamEvents;

  constructor(
    host: StreamHost,
    readonly headers: ReadonlyArray<readonly [string, string]>,
    readonly hasBody: boolean,
    events: StreamEvents,
  ) {
    this.#host = host;
    this.#events = events;
  }

  /** 0 while idle; then odd, in the order streams opened. */
  get id(): number {
    return this.#id;
  }

  get state(): StreamState {
    return this.#state;
  }

  // The exchange's side: a body sink, and pause / resume / cancel for the response.

  get destroyed(): boolean {
    return this.#state === "closed";
  }

  get writableLength(): number {
    return this.#body?.byteLength ?? 0;
  }

  /** The whole request body (call once, only when hasBody, from the open event): true when all of it went out at once. */
  write(body: Uint8Array): boolean {
    if (this.#state === "closed") return false;
    this.#body = body;
    this.#host.pump(this);
    return this.#body === undefined;
  }

  once(event: "drain" | "close", fn: () => void): void {
    this.#waiters.once(event, fn);
  }

  off(event: "drain" | "close", fn: () => void): void {
    this.#waiters.off(event, fn);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#host.credit(this, 0);
  }

  /** We give up on the stream (client gone, failure): RST_STREAM CANCEL. */
  cancel(): void {
    this.#host.reset(this, H2_ERROR.CANCEL);
  }

  // The session's side, in the order of a stream's life.

  /** HEADERS are going out under `id`; the peer lets us send `sendWindow` bytes of body. */
  opened(id: number, sendWindow: number): void {
    this.#id = id;
    this.#flow.grow(sendWindow);
    this.#state = this.hasBody ? "open" : "half_closed_local";
  }

  /** A body was written and part of it is not sent yet. */
  get bodyPending(): boolean {
    return this.#body !== undefined;
  }

  /** The most the next DATA frame may carry by this stream's own limits (body left, window, frame size). */
  get sendable(): number {
    return Math.min(this.#body?.byteLength ?? 0, this.#flow.sendable, MAX_FRAME_PAYLOAD); // larger frames would not fit the write buffer
  }

  /** The next `n` body bytes, counted against the stream's window. */
  take(n: number): Uint8Array {
    const body = this.#body!;
    this.#flow.spend(n);
    this.#body = n === body.byteLength ? undefined : body.subarray(n);
    return body.subarray(0, n);
  }

  /** The last body byte went out with END_STREAM. */
  bodySent(): void {
    this.#state = "half_closed_local";
    this.#waiters.drained();
  }

  /** WINDOW_UPDATE or a SETTINGS change: false when the window passed 2^31-1. */
  growSendWindow(delta: number): boolean {
    return this.#flow.grow(delta);
  }

  /** DATA arrived for this stream: false when the peer overran our window. */
  receive(bytes: number): boolean {
    return this.#flow.receive(bytes);
  }

  /** `bytes` more were consumed: the WINDOW_UPDATE increment due now (none while paused or closed). */
  consumed(bytes: number): number {
    this.#flow.consume(bytes);
    return this.#state === "closed" || this.#paused ? 0 : this.#flow.due();
  }

  get responded(): boolean {
    return this.#responded;
  }

  /** No more frames for this stream in either direction. */
  close(): void {
    this.#state = "closed";
    this.#body = undefined;
    this.#waiters.closed();
  }

  // What the stream reports to its exchange.

  reportOpen(): void {
    this.#events.open?.(this);
  }

  reportHead(status: number, headers: [string, string][]): void {
    this.#responded = true;
    this.#events.head(status, headers);
  }

  reportData(chunk: Uint8Array): void {
    this.#events.data(chunk);
  }

  reportEnd(): void {
    this.#events.end();
  }

  reportFailure(f: UpstreamFailure): void {
    this.#events.fail(f);
  }
}
