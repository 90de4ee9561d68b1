import { FLAG, type Frame, H2_ERROR, H2ConnectionError, unpad } from "./h2-frames.ts";
import { HpackDecoder } from "./hpack.ts";

/** The largest response header list accepted (RFC 9113 §6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE). */
export const MAX_HEADER_LIST = 64 * 1024;

/** A complete, decoded header block: its stream, whether it ends the stream, its fields in order. */
export type OnHeaderBlock = (streamId: number, endStream: boolean, list: [string, string][]) => void;

/**
 * Response header blocks: a HEADERS frame and its CONTINUATION frames assembled into one
 * block (RFC 9113 §4.3, §6.10), decoded with the connection's HPACK decoder, and handed on.
 * Every block is decoded, even one for a stream already reset: the HPACK table is
 * connection state.
 */
export class HeaderBlockReader {
  readonly #decoder = new HpackDecoder(4096);
  readonly #onBlock: OnHeaderBlock;
  /** The block being assembled: its stream (0: none open), its END_STREAM, its fragments and their size. */
  #streamId = 0;
  #endStream = false;
  #parts: Uint8Array[] = [];
  #bytes = 0;

  constructor(onBlock: OnHeaderBlock) {
    this.#onBlock = onBlock;
  }

  /** A block is open: nothing but its CONTINUATION may come next. */
  get open(): boolean {
    return this.#streamId !== 0;
  }

  headers(f: Frame): void {
    const part = unpad(f);
    this.#streamId = f.streamId;
    this.#endStream = (f.flags & FLAG.END_STREAM) !== 0;
    this.#parts = [];
    this.#bytes = 0;
    this.#add(part, f.flags);
  }

  continuation(f: Frame): void {
    if (!this.open || this.#streamId !== f.streamId) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "CONTINUATION without a header block");
    this.#add(f.payload, f.flags);
  }

  #add(part: Uint8Array, flags: number): void {
    this.#parts.push(part.slice());
    this.#bytes += 9 + part.byteLength; // frame headers count: a flood of empty CONTINUATIONs is bounded too
    if (this.#bytes > MAX_HEADER_LIST) throw new H2ConnectionError(H2_ERROR.ENHANCE_YOUR_CALM, "response header block too large");
    if ((flags & FLAG.END_HEADERS) === 0) return;
    const streamId = this.#streamId;
    const parts = this.#parts;
    this.#streamId = 0;
    const block = parts.length === 1 ? parts[0]! : new Uint8Array(Bun.concatArrayBuffers(parts));
    this.#onBlock(streamId, this.#endStream, this.#decoder.decode(block, MAX_HEADER_LIST));
  }
}
