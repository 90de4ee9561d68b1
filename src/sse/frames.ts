import type { StreamObservation } from "./observer.ts";

const LF = 10;
const CR = 13;

/**
 * End of the last complete SSE frame in `bytes` (just past its blank line), or 0.
 * Only ends at or after `from` are looked for (the caller knows the part before has none).
 * A frame ends with an empty line: LF LF, CR LF CR LF, CR CR, or LF CR (WHATWG SSE: CR, LF and
 * CRLF all end a line; a piece that stops between a blank line's CR and its LF has its frame).
 */
export function lastFrameEnd(bytes: Uint8Array, from = 0): number {
  // A frame end found at or after `from` (minus the 3 bytes a CRLFCRLF can straddle back).
  for (let i = bytes.length - 1; i >= Math.max(1, from - 3); i--) {
    const b = bytes[i];
    if (b === LF && (bytes[i - 1] === LF || (bytes[i - 1] === CR && i >= 3 && bytes[i - 2] === LF && bytes[i - 3] === CR))) return i + 1;
    if (b === CR && bytes[i - 1] === CR) return i + 1;
    // LF then CR: the CR ends an empty line (the LF ended the line before it), alone or as CRLF.
    if (b === CR && bytes[i - 1] === LF) return bytes[i + 1] === LF ? i + 2 : i + 1;
  }
  return 0;
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The frames that close a stream the upstream ended without `message_stop`: stop every
 * open content block (same indices), then message_delta if none came, then message_stop.
 */
export function closingFrames(o: StreamObservation): string {
  let out = "";
  for (const index of [...o.openBlocks].sort((a, b) => a - b)) out += frame("content_block_stop", { type: "content_block_stop", index });
  if (!o.messageDelta) {
    out += frame("message_delta", {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: o.outputTokens ?? 0 },
    });
  }
  return out + frame("message_stop", { type: "message_stop" });
}
