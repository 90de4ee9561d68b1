import { quote } from "./quote.ts";

/**
 * Incremental HTTP/1.1 response parser (RFC 9112): status line, header fields,
 * and body framing by Content-Length, chunked Transfer-Encoding, or connection close.
 * Pure: bytes in, events out. Body chunks are subarrays of the input, never copies.
 */
export type H1Event =
  | { readonly type: "head"; readonly status: number; readonly headers: ReadonlyArray<readonly [string, string]> }
  | { readonly type: "body"; readonly chunk: Uint8Array }
  | { readonly type: "end" };

export class H1ProtocolError extends Error {
  override readonly name = "H1ProtocolError";
}

const MAX_HEAD_BYTES = 64 * 1024;
const CR = 13;
const LF = 10;
const SEMICOLON = 0x3b;
/** Bytes as ISO-8859-1 text, one char per byte (TextDecoder("latin1") is windows-1252 and remaps 0x80-0x9f). */
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
const EMPTY = new Uint8Array(0);
const END: H1Event = { type: "end" };

type State =
  | { kind: "head" }
  | { kind: "length"; remaining: number }
  | { kind: "chunk-size" }
  | { kind: "chunk-data"; remaining: number }
  | { kind: "chunk-data-end" }
  | { kind: "trailers" }
  | { kind: "until-close" }
  | { kind: "done" };

// The states that carry nothing are shared (only `remaining` is ever changed in place).
const HEAD: State = { kind: "head" };
const CHUNK_SIZE: State = { kind: "chunk-size" };
const CHUNK_DATA_END: State = { kind: "chunk-data-end" };
const TRAILERS: State = { kind: "trailers" };
const UNTIL_CLOSE: State = { kind: "until-close" };
const DONE: State = { kind: "done" };

export class H1ResponseParser {
  #state: State = HEAD;
  #carry: Uint8Array = EMPTY;
  /** True when the body ends at connection close (no reuse possible). */
  closeDelimited = false;
  /** True when the server asked to close the connection after this response. */
  connectionClose = false;
  /** How long the server says it keeps the idle connection (`Keep-Alive: timeout=N`), in ms. */
  keepAliveMs: number | undefined;

  constructor(readonly method: string) {}

  get done(): boolean {
    return this.#state.kind === "done";
  }

  push(input: Uint8Array): H1Event[] {
    const out: H1Event[] = [];
    const buf = this.#carry.length ? concat(this.#carry, input) : input;
    this.#carry = EMPTY;
    let i = 0;
    while (i < buf.length) {
      const s = this.#state;
      if (s.kind === "head") {
        const end = findHeadEnd(buf, i);
        if (end === -1) {
          if (buf.length - i > MAX_HEAD_BYTES) throw new H1ProtocolError("response head larger than 64 KiB");
          break;
        }
        const head = this.#parseHead(latin1(buf.subarray(i, end)));
        i = end + 4;
        if (head) out.push(head);
        if (this.#state.kind === "done") out.push(END);
      } else if (s.kind === "length" || s.kind === "chunk-data") {
        const take = Math.min(s.remaining, buf.length - i);
        out.push({ type: "body", chunk: buf.subarray(i, i + take) });
        i += take;
        s.remaining -= take;
        if (s.remaining === 0) {
          this.#state = s.kind === "length" ? DONE : CHUNK_DATA_END;
          if (this.#state.kind === "done") out.push(END);
        }
      } else if (s.kind === "until-close") {
        out.push({ type: "body", chunk: buf.subarray(i) });
        i = buf.length;
      } else if (s.kind === "done") {
        throw new H1ProtocolError("bytes after the end of the response");
      } else {
        // Line-oriented states of chunked coding, read as bytes (one per chunk of a stream).
        const eol = findCrlf(buf, i);
        if (eol === -1) {
          if (buf.length - i > 8 * 1024) throw new H1ProtocolError("chunk framing line too long");
          break;
        }
        const from = i;
        i = eol + 2;
        if (s.kind === "chunk-data-end") {
          if (eol !== from) throw new H1ProtocolError("missing CRLF after chunk data");
          this.#state = CHUNK_SIZE;
        } else if (s.kind === "chunk-size") {
          const size = chunkSize(buf, from, eol);
          this.#state = size === 0 ? TRAILERS : { kind: "chunk-data", remaining: size };
        } else if (eol === from) {
          this.#state = DONE;
          out.push(END);
        }
        // Trailer fields are read and dropped.
      }
    }
    if (i < buf.length) this.#carry = buf.slice(i);
    return out;
  }

  /** The connection closed. Legal only for a close-delimited body (or after the end). */
  finish(): H1Event[] {
    if (this.#state.kind === "done") return [];
    if (this.#state.kind === "until-close") {
      this.#state = DONE;
      return [END];
    }
    throw new H1ProtocolError(this.#state.kind === "head" ? "connection closed before the response head" : "connection closed in the middle of the body");
  }

  #parseHead(text: string): H1Event | undefined {
    const lines = text.split("\r\n");
    const m = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: .*)?$/.exec(lines[0] ?? "");
    if (!m) throw new H1ProtocolError(`bad status line ${JSON.stringify(quote(lines[0] ?? "", 60))}`);
    const status = Number(m[2]);
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new H1ProtocolError(`bad header line ${JSON.stringify(quote(line, 60))}`);
      headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
    // 1xx responses are interim (RFC 9110 §15.2): skip them and read the next head.
    if (status >= 100 && status < 200) return undefined;
    const get = (name: string) => headers.filter(([k]) => k === name).map(([, v]) => v);
    this.connectionClose = get("connection").some((v) => /(^|,)\s*close\s*($|,)/i.test(v)) || m[1] === "0";
    const timeout = /(?:^|[,;\s])timeout=(\d+)/i.exec(get("keep-alive").join(","));
    this.keepAliveMs = timeout ? Number(timeout[1]) * 1000 : undefined;
    const te = get("transfer-encoding").join(",").toLowerCase();
    const cl = get("content-length");
    if (this.method === "HEAD" || status === 204 || status === 304) this.#state = DONE;
    else if (te !== "") {
      if (!/(^|,)\s*chunked\s*$/.test(te)) throw new H1ProtocolError(`unsupported transfer-encoding ${te}`);
      this.#state = CHUNK_SIZE;
    } else if (cl.length > 0) {
      const n = Number(cl[0]);
      if (!Number.isSafeInteger(n) || n < 0 || cl.some((v) => v !== cl[0])) throw new H1ProtocolError("bad content-length");
      this.#state = n === 0 ? DONE : { kind: "length", remaining: n };
    } else {
      this.#state = UNTIL_CLOSE;
      this.closeDelimited = true;
    }
    return { type: "head", status, headers };
  }
}

const isBlank = (b: number) => b === 0x20 || b === 0x09;

/** A hex digit's value, or -1. */
function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** The size on a chunk-size line (bytes from..to, CRLF excluded): hex digits, blanks around them, extensions after ";". */
function chunkSize(buf: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to && isBlank(buf[i]!)) i++;
  const start = i;
  let size = 0;
  for (let d = i < to ? hexValue(buf[i]!) : -1; d !== -1 && size <= 2 ** 48; d = i < to ? hexValue(buf[i]!) : -1) {
    size = size * 16 + d;
    i++;
  }
  const digits = i - start;
  while (i < to && isBlank(buf[i]!)) i++;
  if (digits === 0 || size > 2 ** 48 || (i < to && buf[i] !== SEMICOLON)) {
    throw new H1ProtocolError(`bad chunk size line ${JSON.stringify(quote(latin1(buf.subarray(from, Math.min(to, from + 200))), 40))}`);
  }
  return size;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function findCrlf(buf: Uint8Array, from: number): number {
  for (let i = buf.indexOf(CR, from); i !== -1 && i < buf.length - 1; i = buf.indexOf(CR, i + 1)) {
    if (buf[i + 1] === LF) return i;
  }
  return -1;
}

function findHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = findCrlf(buf, from); i !== -1; i = findCrlf(buf, i + 2)) {
    if (buf[i + 2] === CR && buf[i + 3] === LF) return i;
  }
  return -1;
}
