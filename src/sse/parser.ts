/**
 * Incremental Server-Sent Events parser (WHATWG HTML §9.2.6 "event stream interpretation").
 * It only observes: callers forward the original bytes themselves, so nothing is re-serialised.
 */
export interface SseEvent {
  /** The `event:` field, "message" when absent. */
  readonly event: string;
  /** `data:` lines joined with "\n". */
  readonly data: string;
}

/** Lines longer than this are skipped rather than held (hostile or broken upstreams). */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;

export class SseParser {
  readonly #decoder = new TextDecoder("utf-8");
  #pending = "";
  #skippingLongLine = false;
  #event = "";
  #data: string[] = [];
  #hasData = false;

  /** Feeds one chunk; returns the events it completed (possibly none). */
  push(chunk: Uint8Array): SseEvent[] {
    return this.#consume(this.#decoder.decode(chunk, { stream: true }), false);
  }

  /** End of stream: a final line without terminator still counts; an event without its blank line is dropped (per spec). */
  end(): SseEvent[] {
    return this.#consume(this.#decoder.decode(), true);
  }

  #consume(text: string, final: boolean): SseEvent[] {
    const out: SseEvent[] = [];
    let buffer = this.#pending + text;
    let start = 0;
    for (;;) {
      const lf = buffer.indexOf("\n", start);
      const cr = buffer.indexOf("\r", start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of CRLF split across chunks: wait for more.
        if (cr === buffer.length - 1 && !final) break;
        end = cr;
        next = buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else break;
      if (this.#skippingLongLine) this.#skippingLongLine = false;
      else this.#line(buffer.slice(start, end), out);
      start = next;
    }
    buffer = buffer.slice(start);
    if (final) {
      if (buffer.length > 0 && !this.#skippingLongLine) this.#line(buffer, out);
      buffer = "";
    } else if (buffer.length > MAX_LINE_CHARS) {
      buffer = "";
      this.#skippingLongLine = true;
    }
    this.#pending = buffer;
    return out;
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.#hasData) out.push({ event: this.#event || "message", data: this.#data.join("\n") });
      this.#event = "";
      this.#data = [];
      this.#hasData = false;
      return;
    }
    if (line.charCodeAt(0) === 58 /* ":" comment */) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "event") this.#event = value;
    else if (field === "data") {
      this.#data.push(value);
      this.#hasData = true;
    }
    // "id" and "retry" do not matter to an observer; unknown fields are ignored per spec.
  }
}
