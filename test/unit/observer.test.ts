import { expect, test } from "bun:test";
import { newObservation, observeEvent, observeJsonBody } from "../../src/sse/observer.ts";

test("usage, stop reason and content come from message_start / message_delta / deltas", () => {
  const o = newObservation();
  observeEvent(o, {
    event: "message_start",
    data: JSON.stringify({
      type: "message_start",
      message: { usage: { input_tokens: 25, output_tokens: 1, cache_read_input_tokens: 3, cache_creation_input_tokens: 4 } },
    }),
  });
  expect(o.messageStart).toBe(true);
  expect(o.content).toBe(false);
  observeEvent(o, { event: "content_block_delta", data: "{not even json" });
  expect(o.content).toBe(true);
  observeEvent(o, { event: "message_delta", data: JSON.stringify({ delta: { stop_reason: "end_turn" }, usage: { output_tokens: 9 } }) });
  observeEvent(o, { event: "message_stop", data: "{}" });
  expect(o).toMatchObject({
    inputTokens: 25,
    outputTokens: 9,
    cacheReadInputTokens: 3,
    cacheCreationInputTokens: 4,
    stopReason: "end_turn",
    messageStop: true,
  });
});

test("in-stream error frames, unknown events and garbage are tolerated", () => {
  const o = newObservation();
  observeEvent(o, { event: "brand_new_event", data: "???" });
  observeEvent(o, { event: "message_start", data: "not json" });
  observeEvent(o, { event: "error", data: '{"type":"error","error":{"type":"rate_limit_error","message":"[1302] high concurrency"}}' });
  expect(o.error).toEqual({
    type: "rate_limit_error",
    message: "[1302] high concurrency",
    raw: '{"type":"error","error":{"type":"rate_limit_error","message":"[1302] high concurrency"}}',
  });
});

test("a JSON Message body gives usage; an error envelope gives the error", () => {
  const o = newObservation();
  observeJsonBody(o, JSON.stringify({ type: "message", stop_reason: "end_turn", usage: { input_tokens: 10, output_tokens: 2 } }));
  expect(o).toMatchObject({ inputTokens: 10, outputTokens: 2, stopReason: "end_turn", content: true });
  const e = newObservation();
  observeJsonBody(e, '{"type":"error","error":{"type":"overloaded_error","message":"busy"}}');
  expect(e.error?.type).toBe("overloaded_error");
});
