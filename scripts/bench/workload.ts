/**
 * The benchmark's workload, shared by the fake upstream and the load generator: the
 * request body a client sends, the headers that tell the upstream how to answer, and the
 * exact SSE stream it answers with (so the client can check every byte arrived unchanged).
 * Plain TypeScript with no Bun APIs: the upstream is bundled for Node.js.
 */

/** How the upstream streams one answer; sent as request headers, so ccp forwards them untouched. */
export interface StreamShape {
  /** text deltas after message_start */
  readonly deltas: number;
  /** ms between two deltas (the first is sent at once) */
  readonly intervalMs: number;
  /** characters of text per delta */
  readonly deltaChars: number;
}

export const SHAPE_HEADERS = { deltas: "x-bench-deltas", intervalMs: "x-bench-interval-ms", deltaChars: "x-bench-delta-chars" } as const;

export function shapeHeaders(s: StreamShape): Record<string, string> {
  return { [SHAPE_HEADERS.deltas]: String(s.deltas), [SHAPE_HEADERS.intervalMs]: String(s.intervalMs), [SHAPE_HEADERS.deltaChars]: String(s.deltaChars) };
}

const int = (v: string | string[] | undefined, fallback: number, max: number) => {
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isFinite(n) && n >= 0 ? Math.min(Math.floor(n), max) : fallback;
};

export function shapeFrom(headers: Record<string, string | string[] | undefined>): StreamShape {
  return {
    deltas: int(headers[SHAPE_HEADERS.deltas], 20, 100_000),
    intervalMs: int(headers[SHAPE_HEADERS.intervalMs], 1, 10_000),
    deltaChars: int(headers[SHAPE_HEADERS.deltaChars], 12, 64 * 1024),
  };
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** message_start, content_block_start and a ping: written together, as Anthropic does. */
export function headFrames(model: string): string {
  return (
    frame("message_start", {
      type: "message_start",
      message: {
        id: "msg_bench",
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 1000, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
      },
    }) +
    frame("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }) +
    frame("ping", { type: "ping" })
  );
}

export function deltaFrame(chars: number): string {
  const text = "lorem ipsum dolor sit amet ".repeat(Math.ceil(chars / 27)).slice(0, chars);
  return frame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } });
}

export function tailFrames(deltas: number): string {
  return (
    frame("content_block_stop", { type: "content_block_stop", index: 0 }) +
    frame("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: deltas } }) +
    frame("message_stop", { type: "message_stop" })
  );
}

/** Bytes of the whole stream the upstream sends for this model and shape. */
export function streamBytes(model: string, s: StreamShape): number {
  const enc = new TextEncoder();
  return enc.encode(headFrames(model)).byteLength + s.deltas * enc.encode(deltaFrame(s.deltaChars)).byteLength + enc.encode(tailFrames(s.deltas)).byteLength;
}

/** A Messages request of about `bytes` bytes (Claude Code sends 120 KB+ every turn). */
export function requestBody(model: string, bytes: number): string {
  const skeleton = { model, max_tokens: 1024, stream: true, system: "You are a benchmark.", messages: [{ role: "user", content: "" }] };
  const pad = Math.max(0, bytes - JSON.stringify(skeleton).length);
  const content = "The quick brown fox jumps over the lazy dog. ".repeat(Math.ceil(pad / 45)).slice(0, pad);
  return JSON.stringify({ ...skeleton, messages: [{ role: "user", content }] });
}
