import type { Committed } from "../resilience/peek.ts";
import { UpstreamFailure } from "../upstream/failure.ts";
import { Releaser, type Hider } from "./release.ts";

export type { Hider };

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

/** Reads what is left of an answer already whole, ignoring how it ends. */
async function drain(reader: Committed["reader"]): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // The answer was complete; its connection's fate is the transport's business.
  }
}

/**
 * The client-facing body of a committed response. Upstream bytes pass through unchanged
 * as they arrive, released by a Releaser (whole SSE frames, secrets hidden), so anything ccp
 * must add lands on a frame boundary:
 * - a stream that breaks ends with a well-formed `event: error` frame;
 * - a stream that ends without `message_stop` gets the missing content_block_stop /
 *   message_delta / message_stop.
 * An observer watches the same bytes for time to first token, usage and the stop reason.
 */
export function guardStream(c: Committed, rid: string, hooks: GuardHooks): ReadableStream<Uint8Array> {
  const release = new Releaser(c, hooks.hide, hooks.onFirstContent);
  let ended = false;
  const end = (failure: UpstreamFailure | undefined) => {
    if (ended) return;
    ended = true;
    hooks.onEnd(failure);
  };
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
        for (const bytes of release.first()) await send(controller, bytes);
        // A stream is over at message_stop (or at the upstream's error frame): what the upstream
        // does after it (a reset, silence, a close) is not the client's concern, and is read off
        // in the background so a kept-alive connection still ends cleanly.
        let r = release.over() ? { done: true as const } : await c.reader.read();
        for (; !r.done; r = release.over() ? { done: true as const } : await c.reader.read()) {
          const w = send(controller, release.take(r.value));
          if (typeof w !== "number") await w;
        }
        if (ended) return; // cancelled by the client: nothing more to send
        if (release.over()) void drain(c.reader);
        await send(controller, release.end());
        controller.close();
        end(undefined);
      } catch (e) {
        if (ended) return;
        const failure = e instanceof UpstreamFailure ? e : new UpstreamFailure("reset", (e as Error)?.message ?? String(e));
        const frame = release.broken(failure, rid);
        if (frame) {
          send(controller, frame);
          controller.close();
        } else controller.close(failure);
        end(failure);
      }
    },
    cancel() {
      void c.reader.cancel().catch(() => {});
      end(new UpstreamFailure("client_abort", "the client went away during the response"));
    },
  });
}
