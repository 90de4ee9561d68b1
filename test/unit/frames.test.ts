import { expect, test } from "bun:test";
import { closingFrames, lastFrameEnd } from "../../src/sse/frames.ts";
import { newObservation, observeEvent } from "../../src/sse/observer.ts";
import { SseParser } from "../../src/sse/parser.ts";

const enc = (s: string) => new TextEncoder().encode(s);

test("lastFrameEnd finds the end of the last whole frame for LF, CRLF and CR", () => {
  expect(lastFrameEnd(enc("event: a\ndata: 1\n\nevent: b\nda"))).toBe("event: a\ndata: 1\n\n".length);
  expect(lastFrameEnd(enc("event: a\r\ndata: 1\r\n\r\nevent"))).toBe("event: a\r\ndata: 1\r\n\r\n".length);
  expect(lastFrameEnd(enc("data: 1\r\rdata: 2"))).toBe(9);
  expect(lastFrameEnd(enc("data: no end yet\n"))).toBe(0);
  expect(lastFrameEnd(enc(""))).toBe(0);
});

test("closingFrames stops open blocks in index order, adds message_delta only when missing, then message_stop", () => {
  const o = newObservation();
  for (const ev of new SseParser().push(
    enc(
      'event: message_start\ndata: {"type":"message_start","message":{"usage":{"output_tokens":3}}}\n\n' +
        'event: content_block_start\ndata: {"type":"content_block_start","index":0}\n\n' +
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
        'event: content_block_start\ndata: {"type":"content_block_start","index":1}\n\n',
    ),
  ))
    observeEvent(o, ev);
  const events = new SseParser().push(enc(closingFrames(o)));
  expect(events.map((e) => e.event)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
  expect(JSON.parse(events[0]!.data)).toEqual({ type: "content_block_stop", index: 1 });
  expect(JSON.parse(events[1]!.data)).toMatchObject({ delta: { stop_reason: "end_turn" }, usage: { output_tokens: 3 } });
  observeEvent(o, { event: "message_delta", data: '{"delta":{"stop_reason":"max_tokens"}}' });
  expect(new SseParser().push(enc(closingFrames(o))).map((e) => e.event)).toEqual(["content_block_stop", "message_stop"]);
});

test("lastFrameEnd with a start offset only looks at ends past it, including a CRLF pair straddling it", () => {
  const bytes = enc("data: 1\n\ndata: 2\r\n\r\nda");
  expect(lastFrameEnd(bytes, 12)).toBe("data: 1\n\ndata: 2\r\n\r\n".length);
  expect(lastFrameEnd(enc("data: 1 xx\ndata: 2 still going"), 10)).toBe(0);
  expect(lastFrameEnd(enc("data: 1\r\n\r\n"), 10)).toBe(11);
});

test("a blank line's CR right after a line's LF ends the frame, with or without its LF (campaign B4)", () => {
  const enc = new TextEncoder();
  expect(lastFrameEnd(enc.encode("event: a\r\ndata: 1\r\n\r"))).toBe(20);
  expect(lastFrameEnd(enc.encode("event: a\r\ndata: 1\r\n\r\n"))).toBe(21);
  expect(lastFrameEnd(enc.encode("event: a\ndata: 1\n\rdata"))).toBe(18);
});
