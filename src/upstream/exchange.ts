import { BodyQueue } from "./body-queue.ts";
import { abortFailure, UpstreamFailure } from "./failure.ts";
import type { Protocol, UpstreamRequest, UpstreamResponse } from "./transport.ts";

/** Bytes of response body buffered per exchange before the upstream is paused. */
const BODY_HIGH_WATER = 256 * 1024;

/** What an exchange drives on the transport's side: a socket (h1) or a stream (h2). */
export interface ExchangeWire {
  /**
   * Body bytes queued before the wire is paused (default 256 KiB). What arrives after the pause
   * is queued too: on h1 the rest of the socket read that crossed the mark, on h2 what the
   * stream's window still allowed. An h2 stream sets 128 KiB, its window being 128 KiB.
   */
  readonly queueBytes?: number;
  pause(): void;
  resume(): void;
  /** Give the connection or stream up (failure, or the reader cancelled). */
  abandon(): void;
  /** Transport-specific listeners to remove when the exchange is over. */
  cleanup(): void;
}

/**
 * One request/response exchange's lifecycle, the same for every transport: the headers
 * timer, the abort signal, the response body queue with its backpressure, and the idle
 * timer between body chunks (armed only while the upstream is not paused on our account).
 * Transports feed it events (head, data, end, fail); it settles the send() promise.
 */
export class Exchange {
  phase: "head" | "body" | "done" = "head";
  #queue: BodyQueue | undefined;
  #paused = false;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #headersTimer: ReturnType<typeof setTimeout>;
  readonly #onAbort = () => this.fail(abortFailure(this.req.signal, "the attempt was aborted"));

  constructor(
    readonly protocol: Protocol,
    readonly req: UpstreamRequest,
    readonly wire: ExchangeWire,
    readonly resolve: (r: UpstreamResponse) => void,
    readonly reject: (f: UpstreamFailure) => void,
  ) {
    this.#headersTimer = setTimeout(() => this.fail(new UpstreamFailure("headers_timeout", `no response headers within ${req.timeouts.headers_ms} ms`)), req.timeouts.headers_ms);
    req.signal.addEventListener("abort", this.#onAbort, { once: true });
    if (req.signal.aborted) this.#onAbort();
  }

  get done(): boolean {
    return this.phase === "done";
  }

  /** Response headers arrived: the send() promise resolves with a body to read. */
  head(status: number, headers: ReadonlyArray<readonly [string, string]>): void {
    if (this.phase !== "head") return;
    clearTimeout(this.#headersTimer);
    this.phase = "body";
    this.#queue = new BodyQueue(this.wire.queueBytes ?? BODY_HIGH_WATER, {
      resume: () => {
        if (!this.#paused || this.phase !== "body") return;
        this.#paused = false;
        this.wire.resume();
        this.#armIdle();
      },
      cancel: () => {
        if (this.phase === "done") return;
        this.#close();
        this.wire.abandon();
      },
    });
    this.resolve({ protocol: this.protocol, status, headers, body: this.#queue });
    this.#armIdle();
  }

  /** A body chunk: queued for the reader; a full queue pauses the upstream. */
  data(chunk: Uint8Array): void {
    if (this.phase !== "body" || !this.#queue) return;
    if (this.#queue.push(chunk)) return this.#armIdle();
    this.#paused = true;
    this.wire.pause();
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** The response ended cleanly. */
  end(): void {
    if (this.phase === "done") return;
    this.#close();
    this.#queue?.end();
  }

  /** The exchange failed: before headers the send() promise rejects, after them the body errors. */
  fail(f: UpstreamFailure): void {
    if (this.phase === "done") return;
    const wasHead = this.phase === "head";
    this.#close();
    this.wire.abandon();
    if (wasHead) this.reject(f);
    else this.#queue?.fail(f);
  }

  #close(): void {
    this.phase = "done";
    clearTimeout(this.#headersTimer);
    clearTimeout(this.#idleTimer);
    this.req.signal.removeEventListener("abort", this.#onAbort);
    this.wire.cleanup();
  }

  #armIdle(): void {
    if (this.#paused || this.phase !== "body") return;
    if (this.#idleTimer) this.#idleTimer.refresh();
    else this.#idleTimer = setTimeout(() => this.fail(new UpstreamFailure("idle_timeout", `no response bytes for ${this.req.timeouts.idle_ms} ms`)), this.req.timeouts.idle_ms);
  }
}
