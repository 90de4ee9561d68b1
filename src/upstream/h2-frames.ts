/**
 * HTTP/2 framing (RFC 9113 §4, §6): the frame header, a reader that cuts a byte stream into
 * frames, and the encoders a client needs. Pure: bytes in, frames out.
 */

export const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** Error codes (RFC 9113 §7). */
export const H2_ERROR = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

export const SETTING = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface (RFC 9113 §3.4), sent before our SETTINGS. */
export const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** The largest frame payload we accept: the protocol's default, which ccp never raises. */
export const MAX_FRAME_PAYLOAD = 16_384;
export const MAX_WINDOW = 2 ** 31 - 1;

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  /** A view into the received bytes: valid until the reader is pushed again, unless copied. */
  readonly payload: Uint8Array;
}

/** A violation of the framing layer: a connection error with this code (RFC 9113 §5.4.1). */
export class H2ConnectionError extends Error {
  override readonly name = "H2ConnectionError";
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Cuts bytes into frames. A frame split across reads is assembled in a buffer of its own size
 * (only its bytes are copied, never the rest of a read); every other payload is a view.
 */
export class FrameReader {
  /** The frame being assembled across reads: its header first, then a buffer of its full size. */
  #head = new Uint8Array(9);
  #headFill = 0;
  #frame: Uint8Array | undefined;
  #frameFill = 0;

  push(input: Uint8Array): Frame[] {
    const out: Frame[] = [];
    let i = 0;
    if (this.#headFill > 0 || this.#frame) {
      i = this.#continue(input, out);
      if (i === -1) return out;
    }
    while (input.byteLength - i >= 9) {
      const length = frameLength(input, i);
      if (input.byteLength - i < 9 + length) break;
      out.push(frameAt(input, i, input.subarray(i + 9, i + 9 + length)));
      i += 9 + length;
    }
    if (i < input.byteLength) this.#start(input.subarray(i));
    return out;
  }

  /** Feeds the carried frame; returns where the rest of `input` starts, or -1 when all of it was taken. */
  #continue(input: Uint8Array, out: Frame[]): number {
    let i = 0;
    if (!this.#frame) {
      const take = Math.min(9 - this.#headFill, input.byteLength);
      this.#head.set(input.subarray(0, take), this.#headFill);
      this.#headFill += take;
      i = take;
      if (this.#headFill < 9) return -1;
      this.#frame = new Uint8Array(9 + frameLength(this.#head, 0));
      this.#frame.set(this.#head, 0);
      this.#frameFill = 9;
      this.#headFill = 0;
    }
    const f = this.#frame;
    const take = Math.min(f.byteLength - this.#frameFill, input.byteLength - i);
    f.set(input.subarray(i, i + take), this.#frameFill);
    this.#frameFill += take;
    i += take;
    if (this.#frameFill < f.byteLength) return -1;
    this.#frame = undefined;
    out.push(frameAt(f, 0, f.subarray(9)));
    return i;
  }

  /** The start of a frame the read ended in. */
  #start(rest: Uint8Array): void {
    if (rest.byteLength < 9) {
      this.#head.set(rest, 0);
      this.#headFill = rest.byteLength;
      return;
    }
    this.#headFill = 0;
    const f = new Uint8Array(9 + frameLength(rest, 0));
    f.set(rest, 0);
    this.#frame = f;
    this.#frameFill = rest.byteLength;
  }
}

/** The payload length in the frame header at `at`; past our limit it is a FRAME_SIZE_ERROR. */
function frameLength(b: Uint8Array, at: number): number {
  const length = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
  if (length > MAX_FRAME_PAYLOAD) throw new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, `frame of ${length} bytes exceeds SETTINGS_MAX_FRAME_SIZE`);
  return length;
}

function frameAt(b: Uint8Array, at: number, payload: Uint8Array): Frame {
  const streamId = ((b[at + 5]! & 0x7f) << 24) | (b[at + 6]! << 16) | (b[at + 7]! << 8) | b[at + 8]!;
  return { type: b[at + 3]!, flags: b[at + 4]!, streamId, payload };
}

/** One frame: the 9-byte header (RFC 9113 §4.1) then the payload. */
export function frame(type: number, flags: number, streamId: number, payload: Uint8Array = EMPTY): Uint8Array {
  const out = new Uint8Array(9 + payload.byteLength);
  writeFrameHeader(out, 0, payload.byteLength, type, flags, streamId);
  out.set(payload, 9);
  return out;
}

/** A frame header at `at` in `b`, for a payload of `length` bytes that the caller writes after it. */
export function writeFrameHeader(b: Uint8Array, at: number, length: number, type: number, flags: number, streamId: number): void {
  b[at] = (length >>> 16) & 0xff;
  b[at + 1] = (length >>> 8) & 0xff;
  b[at + 2] = length & 0xff;
  b[at + 3] = type;
  b[at + 4] = flags;
  writeU31(b, at + 5, streamId);
}

function writeU31(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0x7f;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

export const readU32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

export function settingsFrame(settings: ReadonlyArray<readonly [number, number]>): Uint8Array {
  const p = new Uint8Array(6 * settings.length);
  settings.forEach(([id, value], k) => {
    p[k * 6] = id >> 8;
    p[k * 6 + 1] = id & 0xff;
    p[k * 6 + 2] = (value >>> 24) & 0xff;
    p[k * 6 + 3] = (value >>> 16) & 0xff;
    p[k * 6 + 4] = (value >>> 8) & 0xff;
    p[k * 6 + 5] = value & 0xff;
  });
  return frame(FRAME.SETTINGS, 0, 0, p);
}

/** A SETTINGS payload as [identifier, value] pairs (RFC 9113 §6.5.1). */
export function parseSettings(payload: Uint8Array): [number, number][] {
  if (payload.byteLength % 6 !== 0) throw new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, "SETTINGS payload is not a multiple of 6 bytes");
  const out: [number, number][] = [];
  for (let i = 0; i < payload.byteLength; i += 6) out.push([(payload[i]! << 8) | payload[i + 1]!, readU32(payload, i + 2)]);
  return out;
}

export function windowUpdateFrame(streamId: number, increment: number): Uint8Array {
  const p = new Uint8Array(4);
  writeU31(p, 0, increment);
  return frame(FRAME.WINDOW_UPDATE, 0, streamId, p);
}

export function rstStreamFrame(streamId: number, code: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, code);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export function goawayFrame(lastStreamId: number, code: number): Uint8Array {
  const p = new Uint8Array(8);
  writeU31(p, 0, lastStreamId);
  new DataView(p.buffer).setUint32(4, code);
  return frame(FRAME.GOAWAY, 0, 0, p);
}

/** A header block as HEADERS plus as many CONTINUATION frames as `maxFrame` requires (RFC 9113 §6.10). */
export function headersFrames(streamId: number, block: Uint8Array, endStream: boolean, maxFrame: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  do {
    const part = block.subarray(at, at + maxFrame);
    at += part.byteLength;
    const last = at >= block.byteLength;
    const flags = (last ? FLAG.END_HEADERS : 0) | (out.length === 0 && endStream ? FLAG.END_STREAM : 0);
    out.push(frame(out.length === 0 ? FRAME.HEADERS : FRAME.CONTINUATION, flags, streamId, part));
  } while (at < block.byteLength);
  return out;
}

/** The data of a DATA or HEADERS payload without its padding (and, for HEADERS, priority fields). */
export function unpad(f: Frame): Uint8Array {
  let p = f.payload;
  if (f.flags & FLAG.PADDED) {
    if (p.byteLength < 1) throw new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, "padded frame without a pad length");
    const pad = p[0]!;
    if (pad >= p.byteLength) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "padding longer than the frame");
    p = p.subarray(1, p.byteLength - pad);
  }
  if (f.type === FRAME.HEADERS && f.flags & FLAG.PRIORITY) {
    if (p.byteLength < 5) throw new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, "HEADERS too short for its priority fields");
    p = p.subarray(5);
  }
  return p;
}
