/** The bits of a node stream (net.Socket, Http2Stream) a request body is written to. */
export interface BodySink {
  write(chunk: Uint8Array): boolean;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
  readonly destroyed: boolean;
}

const CHUNK = 64 * 1024;

/**
 * Writes a request body with backpressure and reports a stall: when the peer stops taking
 * bytes (HTTP/2 flow control never reopening, a full socket buffer) for `stallMs`, `onStall`
 * runs once and writing stops. Resolves when the body is written or writing was abandoned.
 */
export async function writeBody(sink: BodySink, body: Uint8Array, stallMs: number, onStall: () => void): Promise<boolean> {
  for (let offset = 0; offset < body.byteLength; offset += CHUNK) {
    if (sink.destroyed) return false;
    if (sink.write(body.subarray(offset, offset + CHUNK))) continue;
    const drained = await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        sink.off("drain", onDrain);
        sink.off("close", onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => done(false), stallMs);
      sink.once("drain", onDrain);
      sink.once("close", onClose);
    });
    if (!drained) {
      if (!sink.destroyed) onStall();
      return false;
    }
  }
  return true;
}
