import type { Committed } from "../resilience/peek.ts";
import type { UpstreamFailure } from "../upstream/failure.ts";
import { errorFrame } from "./error-frame.ts";
import { closingFrames, lastFrameEnd } from "./frames.ts";
import { observeEvent, observeJsonBody } from "./observer.ts";

/** The most of one unfinished SSE frame held back waiting for its end. */
const MAX_HELD_FRAME_BYTES = 1024 * 1024;
/** JSON bodies larger than this are passed on but not parsed for usage. */
const MAX_JSON_TAP_BYTES = 8 * 1024 * 1024;

/** Replaces secrets in bytes about to reach the client (SecretFilter). */
export interface Hider {
  bytes(b: Uint8Array): Uint8Array;
  /** The most bytes one secret takes: a body filtered in pieces holds back one less. */
  readonly reach: number;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

/**
 * What of a committed body may go to the client, piece by piece. For SSE only whole frames
 * are released (a frame cut by the chunking waits for its end), so anything ccp adds lands on
 * a frame boundary; a JSON body goes out as it comes but for a tail that could start a secret
 * cut by a read. Secrets are hidden in everything released, and every event is observed.
 */
export class Releaser {
  #carry: Uint8Array = EMPTY;
  readonly #json: Uint8Array[] = [];
  #jsonBytes = 0;

  constructor(
    readonly c: Committed,
    readonly hide: Hider | undefined,
    readonly onFirstContent: () => void,
  ) {}

  /** What the peek already read. Its events are observed (by the peek): only framing is left. */
  first(): Uint8Array[] {
    const { c } = this;
    if (!c.sse) return c.head.map((chunk) => this.take(chunk));
    const head = c.head.length === 1 ? c.head[0]! : c.head.reduce(join, EMPTY);
    const cut = lastFrameEnd(head);
    this.#carry = head.slice(cut);
    if (c.observation.content) this.onFirstContent();
    return [this.#hidden(head.subarray(0, cut))];
  }

  /** Observes a chunk and returns what may be released now. */
  take(chunk: Uint8Array): Uint8Array {
    const { c, hide } = this;
    if (!c.sse) {
      if (this.#jsonBytes + chunk.byteLength <= MAX_JSON_TAP_BYTES) this.#json.push(chunk);
      this.#jsonBytes += chunk.byteLength;
      return hide ? this.#releaseHidden(hide, join(this.#carry, chunk)) : chunk;
    }
    const hadContent = c.observation.content;
    for (const ev of c.parser.push(chunk)) observeEvent(c.observation, ev);
    if (!hadContent && c.observation.content) this.onFirstContent();
    const pending = join(this.#carry, chunk);
    // A "frame" that never ends is not held without bound: past the limit it goes out as it is
    // (but for the tail that could start a secret, as for a JSON body).
    if (pending.byteLength > MAX_HELD_FRAME_BYTES && hide) return this.#releaseHidden(hide, pending);
    const cut = pending.byteLength > MAX_HELD_FRAME_BYTES ? pending.byteLength : lastFrameEnd(pending, this.#carry.byteLength);
    this.#carry = cut === pending.byteLength ? EMPTY : pending.slice(cut);
    return this.#hidden(cut === pending.byteLength ? pending : pending.subarray(0, cut));
  }

  /** The stream's last frame (message_stop, or the upstream's error) has been released: nothing more can follow. */
  over(): boolean {
    // That frame ended (the parser saw its empty line), so it was released with it.
    return this.c.sse && (this.c.observation.messageStop || this.c.observation.error !== undefined);
  }

  /** The body ended: the frames a stream still needs, or a JSON body's held-back tail. */
  end(): Uint8Array {
    const { c } = this;
    if (c.sse) {
      for (const ev of c.parser.end()) observeEvent(c.observation, ev);
      // An unterminated last frame is never released (it could only reach the client broken).
      return c.observation.messageStop || c.observation.error ? EMPTY : encoder.encode(closingFrames(c.observation));
    }
    if (this.#jsonBytes <= MAX_JSON_TAP_BYTES) {
      observeJsonBody(c.observation, new TextDecoder().decode(this.#json.length === 1 ? this.#json[0] : Bun.concatArrayBuffers(this.#json)));
      if (c.observation.content) this.onFirstContent();
    }
    return this.#carry;
  }

  /** The body broke: the `event: error` frame that ends a stream well-formed; undefined for a JSON body (its connection is cut). */
  broken(failure: UpstreamFailure, rid: string): Uint8Array | undefined {
    if (!this.c.sse || this.c.observation.error) return undefined;
    const type = failure.failureClass === "idle_timeout" ? "timeout_error" : "api_error";
    const why = failure.failureClass === "shutdown" ? `the stream was cut: ${failure.message}` : `upstream stream broke after it started: ${failure.message}`;
    return this.#hidden(encoder.encode(errorFrame(type, why, rid)));
  }

  /** Bytes with secrets hidden, all released but the tail that could start a secret a read cut: it waits in the carry. */
  #releaseHidden(h: Hider, pending: Uint8Array): Uint8Array {
    const out = h.bytes(pending);
    const cut = Math.max(0, out.byteLength - (h.reach - 1));
    this.#carry = out.slice(cut);
    return out.subarray(0, cut);
  }

  #hidden(frames: Uint8Array): Uint8Array {
    return this.hide && frames.byteLength > 0 ? this.hide.bytes(frames) : frames;
  }
}
