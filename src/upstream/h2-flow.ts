import { MAX_WINDOW } from "./h2-frames.ts";

/** Every window's size until SETTINGS or WINDOW_UPDATE change it (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW = 65_535;
/**
 * Response bytes a stream may receive ahead of its reader: the peer waits for our WINDOW_UPDATE
 * past it. With the stream's queue (H2_QUEUE_BYTES), it bounds what a client that stops reading
 * leaves in ccp: 128 + 128 KiB. At 100 ms from the upstream that still lets a stream run at
 * 1.3 MB/s, far above a model's pace.
 */
export const STREAM_WINDOW = 128 * 1024;
/** Response bytes queued for a stream's reader before it is paused (no more WINDOW_UPDATE). */
export const H2_QUEUE_BYTES = 128 * 1024;
/** The connection-wide receive window (stream windows bound each stream; this only must not bind first). */
export const CONNECTION_WINDOW = 16 * 1024 * 1024;

/**
 * The two flow-control windows of one stream or of the connection (RFC 9113 §5.2, §6.9): what
 * we may still send, and what the peer may still send before our next WINDOW_UPDATE. Consumed
 * bytes are given back in batches of half the receive window, so a fast reader costs one
 * WINDOW_UPDATE per half window, not one per DATA frame. Plain numbers: nothing here allocates.
 */
export class FlowWindows {
  /** What the peer lets us send (may go negative after a SETTINGS change, RFC 9113 §6.9.2). */
  #send: number;
  /** What the peer may still send before our next WINDOW_UPDATE. */
  #receive: number;
  /** Bytes received and consumed, not yet given back. */
  #owed = 0;
  readonly #batch: number;

  /** `receive`: the receive window as the peer knows it, which is also its size for batching. */
  constructor(send: number, receive: number) {
    this.#send = send;
    this.#receive = receive;
    this.#batch = receive / 2;
  }

  get sendable(): number {
    return this.#send;
  }

  spend(bytes: number): void {
    this.#send -= bytes;
  }

  /**
   * A WINDOW_UPDATE from the peer, or a change of its SETTINGS_INITIAL_WINDOW_SIZE (then
   * `delta` may be negative): false when the window passed 2^31-1, a flow-control error.
   */
  grow(delta: number): boolean {
    this.#send += delta;
    return this.#send <= MAX_WINDOW;
  }

  /** The peer sent `bytes` (DATA payload, padding included): false when it overran our window. */
  receive(bytes: number): boolean {
    this.#receive -= bytes;
    return this.#receive >= 0;
  }

  /** `bytes` received earlier were consumed and may be given back. */
  consume(bytes: number): void {
    this.#owed += bytes;
  }

  /** The WINDOW_UPDATE increment to send now (0: none yet); the receive window grows by it. */
  due(): number {
    const owed = this.#owed;
    if (owed < this.#batch) return 0;
    this.#receive += owed;
    this.#owed = 0;
    return owed;
  }
}
