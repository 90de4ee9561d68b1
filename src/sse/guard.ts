import type { Committed } from "../resilience/peek.ts";
import { errorFrame } from "./error-frame.ts";
import { UpstreamFailure } from "../upstream/failure.ts";
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

export interface GuardHooks {
  /** Keeps secrets from the client (whole SSE frames; a JSON body across its reads); undefined when there are none. */
  readonly hide?: Hider | undefined;
  /** Sees every byte passed to the client (diagnostics capture); undefined when nobody listens. */
  readonly onChunk?: ((chunk: Uint8Array) => void) | undefined;
  /** The first content token is being handed to the client. */
  readonly onFirstContent: () => void;
  /** The stream is over: ended, broken (failure) or cancelled by the client. Called once. */
  readonly onEnd: (failure: UpstreamFailure | undefined) => void;
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
 * The client-facing body of a committed response. Upstream bytes pass through unchanged
 * as they arrive; for SSE only whole frames are released (a frame cut by the chunking waits
 * for its end), so anything ccp must add lands on a frame boundary:
 * - a stream that breaks ends with a well-formed `event: error` frame;
 * - a stream that ends without `message_stop` gets the missing content_block_stop /
 *   message_delta / message_stop.
 * An observer watches the same bytes for time to first token, usage and the stop reason.
 */
export function guardStream(c: Committed, rid: string, hooks: GuardHooks): ReadableStream<Uint8Array> {
  const { reader, parser, observation } = c;
  let ended = false;
  const end = (failure: UpstreamFailure | undefined) => {
    if (ended) return;
    ended = true;
    hooks.onEnd(failure);
  };
  let carry: Uint8Array = EMPTY;
  const json: Uint8Array[] = [];
  let jsonBytes = 0;

  const { hide } = hooks;
  /** Bytes with secrets hidden, all released but the tail that could start a secret a read cut: it waits in `carry`. */
  const releaseHidden = (h: Hider, pending: Uint8Array): Uint8Array => {
    const out = h.bytes(pending);
    const cut = Math.max(0, out.byteLength - (h.reach - 1));
    carry = out.slice(cut);
    return out.subarray(0, cut);
  };
  /** Observes a chunk and returns what may be released now, secrets hidden. */
  const take = (chunk: Uint8Array): Uint8Array => {
    if (!c.sse) {
      if (jsonBytes + chunk.byteLength <= MAX_JSON_TAP_BYTES) json.push(chunk);
      jsonBytes += chunk.byteLength;
      return hide ? releaseHidden(hide, join(carry, chunk)) : chunk;
    }
    const hadContent = observation.content;
    for (const ev of parser.push(chunk)) observeEvent(observation, ev);
    if (!hadContent && observation.content) hooks.onFirstContent();
    const pending = join(carry, chunk);
    // A "frame" that never ends is not held without bound: past the limit it goes out as it is
    // (but for the tail that could start a secret, as for a JSON body).
    if (pending.byteLength > MAX_HELD_FRAME_BYTES && hide) return releaseHidden(hide, pending);
    const cut = pending.byteLength > MAX_HELD_FRAME_BYTES ? pending.byteLength : lastFrameEnd(pending, carry.byteLength);
    carry = cut === pending.byteLength ? EMPTY : pending.slice(cut);
    return hidden(cut === pending.byteLength ? pending : pending.subarray(0, cut));
  };
  const hidden = (frames: Uint8Array) => (hide && frames.byteLength > 0 ? hide.bytes(frames) : frames);
  /** Hands bytes to the client; a promise when the client's side is full (backpressure). */
  const send = (controller: ReadableStreamDirectController, bytes: Uint8Array): number | Promise<number> => {
    if (bytes.byteLength === 0) return 0;
    hooks.onChunk?.(bytes);
    return controller.write(bytes);
  };

  // A direct stream (Bun): chunks go straight to the client's socket, with no queue in between,
  // and one pull() runs the whole body. A write that returns a promise means the client is not
  // keeping up: awaiting it stops reading the upstream, whose queue then pauses the upstream.
  return new ReadableStream<Uint8Array>({
    type: "direct",
    async pull(controller) {
      try {
        // The peek already fed these bytes to the parser: only the framing is left to do.
        if (c.sse) {
          const head = c.head.length === 1 ? c.head[0]! : c.head.reduce(join, EMPTY);
          const cut = lastFrameEnd(head);
          carry = head.slice(cut);
          if (observation.content) hooks.onFirstContent();
          await send(controller, hidden(head.subarray(0, cut)));
        } else {
          for (const chunk of c.head) await send(controller, take(chunk));
        }
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          const w = send(controller, take(r.value));
          if (typeof w !== "number") await w;
        }
        if (ended) return; // cancelled by the client: nothing more to send
        if (c.sse) {
          for (const ev of parser.end()) observeEvent(observation, ev);
          // An unterminated last frame is never released (it could only reach the client broken).
          if (!observation.messageStop && !observation.error) send(controller, encoder.encode(closingFrames(observation)));
        } else {
          // The held-back tail of a JSON body, whole now.
          await send(controller, carry);
          if (jsonBytes <= MAX_JSON_TAP_BYTES) {
            observeJsonBody(observation, new TextDecoder().decode(json.length === 1 ? json[0] : Bun.concatArrayBuffers(json)));
            if (observation.content) hooks.onFirstContent();
          }
        }
        controller.close();
        end(undefined);
      } catch (e) {
        if (ended) return;
        const failure = e instanceof UpstreamFailure ? e : new UpstreamFailure("reset", (e as Error)?.message ?? String(e));
        if (c.sse && !observation.error) {
          const type = failure.failureClass === "idle_timeout" ? "timeout_error" : "api_error";
          const why = failure.failureClass === "shutdown" ? `the stream was cut: ${failure.message}` : `upstream stream broke after it started: ${failure.message}`;
          send(controller, hidden(encoder.encode(errorFrame(type, why, rid))));
          controller.close();
        } else controller.close(failure);
        end(failure);
      }
    },
    cancel() {
      void reader.cancel().catch(() => {});
      end(new UpstreamFailure("client_abort", "the client went away during the response"));
    },
  });
}
