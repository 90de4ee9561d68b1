/**
 * Incremental Server-Sent Events parser (WHATWG HTML §9.2.6 "event stream interpretation").
 * It only observes: callers forward the original bytes themselves, so nothing is re-serialised.
 * It works on bytes: line ends and field names are found without decoding, and an event's data
 * is decoded only when the caller wants it (a stream's many content deltas never are).
 * A pushed chunk is kept by reference until its event completes: callers must not reuse it
 * (transports hand over fresh buffers).
 */
export interface SseEvent {
  /** The `event:` field, "message" when absent. */
  readonly event: string;
  /** `data:` lines joined with "\n" ("" when the caller did not want this event's data). */
  readonly data: string;
}

/** Lines longer than this are skipped rather than held (hostile or broken upstreams). */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;

/** Which events' data to decode, by event name; all of them when not given. */
export type WantsData = (event: string) => boolean;

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder("utf-8");

/** `field` as the bytes at the start of line [from, to), followed by ":" or the end of the line. */
function fieldIs(b: Uint8Array, from: number, to: number, field: string): boolean {
  const n = field.length;
  if (to - from < n || (to - from > n && b[from + n] !== COLON)) return false;
  for (let i = 0; i < n; i++) if (b[from + i] !== field.charCodeAt(i)) return false;
  return true;
}

/** Where the value after "field:" starts, its one optional leading space skipped. */
function valueStart(b: Uint8Array, from: number, to: number, field: string): number {
  const at = from + field.length + 1;
  if (at > to) return to;
  return b[at] === SPACE ? at + 1 : at;
}

/** The event names Anthropic-style streams use, matched on bytes so a name is not decoded per event. */
const KNOWN_EVENTS = ["content_block_delta", "ping", "message_start", "content_block_start", "content_block_stop", "message_delta", "message_stop", "error"];

function eventName(b: Uint8Array, from: number, to: number): string {
  const n = to - from;
  next: for (const name of KNOWN_EVENTS) {
    if (name.length !== n) continue;
    for (let i = 0; i < n; i++) if (b[from + i] !== name.charCodeAt(i)) continue next;
    return name;
  }
  return utf8.decode(b.subarray(from, to));
}

export class SseParser {
  /** The unfinished line carried over from earlier chunks. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #skippingLongLine = false;
  /** The last chunk ended with CR: an LF starting the next one belongs to it. */
  #afterCr = false;
  #atStart = true;
  #event = "";
  #data: Uint8Array[] = [];
  #hasData = false;

  constructor(readonly wantsData: WantsData = () => true) {}

  /** Feeds one chunk; returns the events it completed (possibly none). */
  push(chunk: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    let i = 0;
    if (this.#atStart && chunk.length > 0) {
      // A leading byte order mark is not part of the stream (spec); a split one is not looked for.
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
      this.#atStart = false;
    }
    if (chunk.length === 0) return out; // an empty chunk must not forget a pending CR
    if (this.#afterCr && chunk[i] === LF) i++;
    this.#afterCr = false;
    let cr = chunk.indexOf(CR, i);
    while (i < chunk.length) {
      if (cr !== -1 && cr < i) cr = chunk.indexOf(CR, i);
      const lf = chunk.indexOf(LF, i);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr === chunk.length - 1) {
          next = cr + 1;
          this.#afterCr = true;
        } else next = chunk[cr + 1] === LF ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        this.#hold(chunk.subarray(i));
        break;
      }
      this.#endLine(chunk, i, end, out);
      i = next;
    }
    return out;
  }

  /** End of stream: a final line without terminator still counts; an event without its blank line is dropped (per spec). */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.#pendingBytes > 0 || this.#pending.length > 0) this.#endLine(EMPTY, 0, 0, out);
    return out;
  }

  #hold(part: Uint8Array): void {
    if (this.#skippingLongLine) return;
    this.#pendingBytes += part.length;
    if (this.#pendingBytes > MAX_LINE_CHARS) {
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#skippingLongLine = true;
      return;
    }
    this.#pending.push(part);
  }

  /** A line ended with bytes [from, to) of `b` as its last (or only) part. */
  #endLine(b: Uint8Array, from: number, to: number, out: SseEvent[]): void {
    if (this.#skippingLongLine) {
      this.#skippingLongLine = false;
      return;
    }
    if (this.#pending.length > 0) {
      this.#pending.push(b.subarray(from, to));
      const line = new Uint8Array(Bun.concatArrayBuffers(this.#pending));
      this.#pending = [];
      this.#pendingBytes = 0;
      return this.#line(line, 0, line.length, out);
    }
    this.#line(b, from, to, out);
  }

  /** One line, bytes [from, to) of `b`: located by index, so a line the observer skips costs no allocation. */
  #line(b: Uint8Array, from: number, to: number, out: SseEvent[]): void {
    if (from === to) {
      if (this.#hasData) {
        const event = this.#event || "message";
        out.push({ event, data: this.wantsData(event) ? this.#decodeData() : "" });
      }
      this.#event = "";
      this.#data = [];
      this.#hasData = false;
      return;
    }
    if (b[from] === COLON) return; // a comment
    if (fieldIs(b, from, to, "data")) {
      // Held until the blank line, unless the event is already named and its data not wanted.
      if (this.#event === "" || this.wantsData(this.#event)) this.#data.push(b.subarray(valueStart(b, from, to, "data"), to));
      this.#hasData = true;
    } else if (fieldIs(b, from, to, "event")) this.#event = eventName(b, valueStart(b, from, to, "event"), to);
    // "id" and "retry" do not matter to an observer; unknown fields are ignored per spec.
  }

  #decodeData(): string {
    if (this.#data.length === 1) return utf8.decode(this.#data[0]);
    return this.#data.map((d) => utf8.decode(d)).join("\n");
  }
}
