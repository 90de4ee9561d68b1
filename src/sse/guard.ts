import type { Committed } from "../resilience/peek.ts";
import { errorFrame } from "../server/errors.ts";
import { UpstreamFailure } from "../upstream/failure.ts";
import { observeEvent, observeJsonBody } from "./observer.ts";

/** JSON bodies larger than this are passed on but not parsed for usage. */
const MAX_JSON_TAP_BYTES = 8 * 1024 * 1024;

export interface GuardHooks {
  /** Sees every byte passed to the client (diagnostics capture); undefined when nobody listens. */
  readonly onChunk?: ((chunk: Uint8Array) => void) | undefined;
  /** The first content token is being handed to the client. */
  readonly onFirstContent: () => void;
  /** The stream is over: ended, broken (failure) or cancelled by the client. Called once. */
  readonly onEnd: (failure: UpstreamFailure | undefined) => void;
}

const encoder = new TextEncoder();

/**
 * The client-facing body of a committed response. Bytes pass through unchanged as they
 * arrive; the observer watches them. A stream that breaks after commit ends with a
 * well-formed `event: error` frame instead of a silent close.
 */
export function guardStream(c: Committed, rid: string, hooks: GuardHooks): ReadableStream<Uint8Array> {
  const { reader, parser, observation } = c;
  let ended = false;
  const end = (failure: UpstreamFailure | undefined) => {
    if (ended) return;
    ended = true;
    hooks.onEnd(failure);
  };
  const json: Uint8Array[] = [];
  let jsonBytes = 0;
  const watch = (chunk: Uint8Array) => {
    if (!c.sse) {
      if (jsonBytes + chunk.byteLength <= MAX_JSON_TAP_BYTES) json.push(chunk);
      jsonBytes += chunk.byteLength;
      return;
    }
    const hadContent = observation.content;
    for (const ev of parser.push(chunk)) observeEvent(observation, ev);
    if (!hadContent && observation.content) hooks.onFirstContent();
  };
  const finishJson = () => {
    if (c.sse || jsonBytes > MAX_JSON_TAP_BYTES) return;
    const text = new TextDecoder().decode(Bun.concatArrayBuffers(json));
    observeJsonBody(observation, text);
    if (observation.content) hooks.onFirstContent();
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (observation.content) hooks.onFirstContent();
        for (const chunk of c.head) {
          hooks.onChunk?.(chunk);
          controller.enqueue(chunk);
        }
      },
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            if (c.sse) for (const ev of parser.end()) observeEvent(observation, ev);
            else finishJson();
            controller.close();
            return end(undefined);
          }
          watch(value);
          hooks.onChunk?.(value);
          controller.enqueue(value);
        } catch (e) {
          const failure = e instanceof UpstreamFailure ? e : new UpstreamFailure("reset", (e as Error).message ?? String(e));
          if (c.sse && !observation.error) {
            const type = failure.failureClass === "idle_timeout" ? "timeout_error" : "api_error";
            controller.enqueue(encoder.encode(errorFrame(type, `upstream stream broke after it started: ${failure.message}`, rid)));
            controller.close();
          } else controller.error(failure);
          end(failure);
        }
      },
      cancel() {
        void reader.cancel().catch(() => {});
        end(new UpstreamFailure("client_abort", "the client went away during the response"));
      },
    },
    { highWaterMark: 0 },
  );
}
