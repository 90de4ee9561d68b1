import type { BunConn } from "./bun-socket.ts";
import { FRAME, writeFrameHeader } from "./h2-frames.ts";

/**
 * The buffer outgoing frames are gathered in until the turn's write. It is reused from write
 * to write (fresh memory for every 1 MB upload cost more than the copy into it), unless the
 * socket kept part of it to send later.
 */
const OUT_CAPACITY = 128 * 1024;
/** Request-body bytes queued on the socket before DATA waits for it to drain. */
const MAX_UNSENT = 256 * 1024;
/** Bytes the socket may hold unsent before the peer counts as not reading at all. */
const MAX_BACKLOG = 4 * 1024 * 1024;

/**
 * A session's outgoing frames: those produced in one turn of the event loop go out in one
 * socket write. Once the session is dead (stop()), nothing more is written.
 */
export class FrameWriter {
  readonly #conn: BunConn;
  /** The socket holds over MAX_BACKLOG: the session must die. */
  readonly #stuck: (why: string) => void;
  #out = new Uint8Array(OUT_CAPACITY);
  #outBytes = 0;
  #flushQueued = false;
  #stopped = false;
  readonly #flushLater = () => this.flush();

  constructor(conn: BunConn, stuck: (why: string) => void) {
    this.#conn = conn;
    this.#stuck = stuck;
  }

  /** Queues a whole frame for this turn's write. */
  send(bytes: Uint8Array): void {
    if (this.#outBytes + bytes.byteLength > this.#out.byteLength) this.flush();
    if (bytes.byteLength > this.#out.byteLength) return void (this.#stopped || this.#conn.write(bytes));
    this.#out.set(bytes, this.#outBytes);
    this.#outBytes += bytes.byteLength;
    this.#flushSoon();
  }

  /** Queues a DATA frame, its payload copied once, straight into the write buffer. */
  sendData(streamId: number, flags: number, payload: Uint8Array): void {
    if (this.#outBytes + 9 + payload.byteLength > this.#out.byteLength) this.flush();
    writeFrameHeader(this.#out, this.#outBytes, payload.byteLength, FRAME.DATA, flags, streamId);
    this.#out.set(payload, this.#outBytes + 9);
    this.#outBytes += 9 + payload.byteLength;
    this.#flushSoon();
  }

  /**
   * Whether more DATA may be queued: frames waiting for this turn's write count too, and when
   * they fill the allowance they are handed to the socket now, so only bytes the socket itself
   * holds make us wait (for its drain, which then comes).
   */
  room(): boolean {
    if (this.#outBytes + this.#conn.writableLength < MAX_UNSENT) return true;
    this.flush();
    return this.#conn.writableLength < MAX_UNSENT;
  }

  /** The socket itself holds a full allowance: DATA waits for its drain. */
  get full(): boolean {
    return this.#conn.writableLength >= MAX_UNSENT;
  }

  flush(): void {
    this.#flushQueued = false;
    if (this.#outBytes === 0) return;
    const backedUp = this.#conn.writableLength > 0;
    // Behind a backlog the socket keeps all of it: a copy of just these bytes, not the whole buffer.
    const out = backedUp ? this.#out.slice(0, this.#outBytes) : this.#out.subarray(0, this.#outBytes);
    this.#outBytes = 0;
    if (this.#stopped) return;
    this.#conn.write(out);
    // What the socket could not take at once it holds by reference: that memory is its own now.
    if (!backedUp && this.#conn.writableLength > 0) this.#out = new Uint8Array(OUT_CAPACITY);
    if (this.#conn.writableLength > MAX_BACKLOG) this.#stuck("HTTP/2 peer stopped reading (over 4 MB unsent)");
  }

  /** The session is dead: whatever is queued or comes later is dropped. */
  stop(): void {
    this.#stopped = true;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  #flushSoon(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flushLater);
  }
}
