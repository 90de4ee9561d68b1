/**
 * A response body as the request path reads it: the reader half of a stream, without a web
 * stream in between. Transports push socket chunks in; the guard reads them out. One less
 * ReadableStream per chunk (the benchmark found the chained streams to be ccp's largest cost).
 */
export interface ByteSource {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>;
  /** The reader is done with it: the transport releases the connection or stream. */
  cancel(reason?: unknown): Promise<void>;
}

type Result = Awaited<ReturnType<ByteSource["read"]>>;
const DONE: Result = { done: true };

export interface BodyQueueHooks {
  /** The queue went from full to below its high-water mark: the producer may resume. */
  readonly resume: () => void;
  /** The reader cancelled: stop producing and release. */
  readonly cancel: () => void;
}

/** A bounded single-reader queue: push() says when the producer should pause. */
export class BodyQueue implements ByteSource {
  readonly #chunks: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;
  #ended = false;
  #error: unknown = undefined;
  #waiter: { resolve: (r: Result) => void; reject: (e: unknown) => void } | undefined;
  #full = false;

  constructor(
    readonly highWaterBytes: number,
    readonly hooks: BodyQueueHooks,
  ) {}

  /** Adds a chunk; false when the queue is now full and the producer should pause. */
  push(chunk: Uint8Array): boolean {
    if (this.#ended) return false;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w.resolve({ done: false, value: chunk });
      return true;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    this.#full = this.#bytes >= this.highWaterBytes;
    return !this.#full;
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.resolve(DONE);
  }

  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(error);
  }

  read(): Promise<Result> {
    if (this.#head < this.#chunks.length) {
      const value = this.#chunks[this.#head++]!;
      if (this.#head === this.#chunks.length) {
        this.#chunks.length = 0;
        this.#head = 0;
      }
      this.#bytes -= value.byteLength;
      if (this.#full && this.#bytes < this.highWaterBytes) {
        this.#full = false;
        this.hooks.resume();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  cancel(): Promise<void> {
    if (!this.#ended) {
      this.#chunks.length = 0;
      this.#bytes = 0;
      this.end(); // a read waiting at that moment ends too: nothing will ever come for it
      this.hooks.cancel();
    }
    return Promise.resolve();
  }
}
