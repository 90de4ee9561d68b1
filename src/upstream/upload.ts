/** The bits of a node stream (net.Socket, Http2Stream) a request body is written to. */
export interface BodySink {
  write(chunk: Uint8Array): boolean;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
  readonly destroyed: boolean;
  /** Bytes handed to the stream and not yet taken by the peer (socket or flow-control window). */
  readonly writableLength: number;
}

type Waiter = () => void;

/** A BodySink's "drain" and "close" listeners: each runs once; a close drops the drain ones. */
export class SinkWaiters {
  #drain: Waiter[] = [];
  #close: Waiter[] = [];

  once(event: "drain" | "close", fn: Waiter): void {
    (event === "drain" ? this.#drain : this.#close).push(fn);
  }

  off(event: "drain" | "close", fn: Waiter): void {
    if (event === "drain") this.#drain = this.#drain.filter((f) => f !== fn);
    else this.#close = this.#close.filter((f) => f !== fn);
  }

  drained(): void {
    const waiters = this.#drain;
    this.#drain = [];
    for (const f of waiters) f();
  }

  closed(): void {
    const waiters = this.#close;
    this.#close = [];
    this.#drain = [];
    for (const f of waiters) f();
  }
}

/**
 * Writes a request body in one piece (the kernel and the stream take what they can at once)
 * and watches it drain. When nothing moves for `stallMs` (HTTP/2 flow control never
 * reopening, a peer that stopped reading), `onStall` runs once. Resolves true once the whole
 * body has been taken, false when it stalled or the stream closed first.
 */
export function writeBody(sink: BodySink, body: Uint8Array, stallMs: number, onStall: () => void): Promise<boolean> {
  if (sink.destroyed) return Promise.resolve(false);
  if (sink.write(body)) return Promise.resolve(true);
  return watchDrain(sink, stallMs, onStall);
}

/** The watch half of writeBody, for bytes already handed to the sink that it could not take at once. */
export function watchDrain(sink: BodySink, stallMs: number, onStall: () => void): Promise<boolean> {
  if (sink.destroyed) return Promise.resolve(false);
  if (sink.writableLength === 0) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    let pending = sink.writableLength;
    let movedAt = performance.now();
    const done = (ok: boolean) => {
      clearInterval(watch);
      sink.off("drain", onDrain);
      sink.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const watch = setInterval(
      () => {
        const now = sink.writableLength;
        if (now < pending) {
          pending = now;
          movedAt = performance.now();
        } else if (performance.now() - movedAt >= stallMs) {
          done(false);
          if (!sink.destroyed) onStall();
        }
      },
      Math.max(20, Math.min(1_000, stallMs / 5)),
    );
    sink.once("drain", onDrain);
    sink.once("close", onClose);
  });
}
