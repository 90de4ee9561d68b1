import { describe, expect, test } from "bun:test";
import { SseParser, type SseEvent } from "../../src/sse/parser.ts";

const enc = new TextEncoder();
const feed = (chunks: (string | Uint8Array)[]): SseEvent[] => {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (const c of chunks) out.push(...p.push(typeof c === "string" ? enc.encode(c) : c));
  out.push(...p.end());
  return out;
};

const STREAM = 'event: message_start\ndata: {"type":"message_start"}\n\nevent: ping\ndata: {"type":"ping"}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n';

describe("SseParser", () => {
  test("parses whole frames", () => {
    expect(feed([STREAM]).map((e) => e.event)).toEqual(["message_start", "ping", "message_stop"]);
  });

  test("events split across chunks at every byte give the same result", () => {
    const whole = feed([STREAM]);
    for (let i = 1; i < STREAM.length; i++) {
      expect(feed([STREAM.slice(0, i), STREAM.slice(i)])).toEqual(whole);
    }
    expect(feed([...STREAM])).toEqual(whole);
  });

  test("CRLF and lone CR line endings, including a CRLF split across chunks", () => {
    const crlf = STREAM.replaceAll("\n", "\r\n");
    const cr = STREAM.replaceAll("\n", "\r");
    const expected = feed([STREAM]);
    expect(feed([crlf])).toEqual(expected);
    expect(feed([cr])).toEqual(expected);
    for (let i = 1; i < crlf.length; i++) expect(feed([crlf.slice(0, i), crlf.slice(i)])).toEqual(expected);
    // An empty chunk between the CR and the LF of a CRLF changes nothing.
    for (let i = 1; i < crlf.length; i++) expect(feed([crlf.slice(0, i), "", crlf.slice(i)])).toEqual(expected);
  });

  test("multi-byte UTF-8 split across chunks", () => {
    const text = 'event: content_block_delta\ndata: {"text":"héllo 世界 🎉"}\n\n';
    const bytes = enc.encode(text);
    for (let i = 1; i < bytes.length; i++) {
      const [ev] = feed([bytes.slice(0, i), bytes.slice(i)]);
      expect(ev?.data).toBe('{"text":"héllo 世界 🎉"}');
    }
  });

  test("unknown event types, comments, multi-line data and missing space after colon", () => {
    const events = feed([": keep-alive\n\nevent:custom_thing\ndata:a\ndata: b\nid: 7\nretry: 10\nweird\n\ndata: x\n\n"]);
    expect(events).toEqual([
      { event: "custom_thing", data: "a\nb" },
      { event: "message", data: "x" },
    ]);
  });

  test("an event without its terminating blank line is not dispatched at end of stream", () => {
    expect(feed(['event: message_start\ndata: {"a":1}\n\nevent: message_delta\ndata: {"b":'])).toEqual([{ event: "message_start", data: '{"a":1}' }]);
  });

  test("a huge line is skipped without holding it, and parsing resumes", () => {
    const huge = `data: ${"x".repeat(5 * 1024 * 1024)}`;
    const events = feed([huge.slice(0, 3_000_000), huge.slice(3_000_000), "\n\nevent: ok\ndata: 1\n\n"]);
    expect(events).toEqual([{ event: "ok", data: "1" }]);
  });
});

describe("SseParser with a data filter", () => {
  test("decodes only the data the caller wants, and still reports every event", () => {
    const p = new SseParser((event) => event !== "content_block_delta");
    const text = 'event: message_start\ndata: {"a":1}\n\nevent: content_block_delta\ndata: {"delta":"x"}\n\ndata: {"late":1}\nevent: content_block_delta\n\n';
    expect([...p.push(enc.encode(text)), ...p.end()]).toEqual([
      { event: "message_start", data: '{"a":1}' },
      { event: "content_block_delta", data: "" },
      { event: "content_block_delta", data: "" },
    ]);
  });
});
