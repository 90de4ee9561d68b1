import { describe, expect, test } from "bun:test";
import { lastFrameEnd } from "../../src/sse/frames.ts";
import { SseParser, type SseEvent } from "../../src/sse/parser.ts";
import { prng } from "../support/usage-records.ts";
import { chop, pick } from "./chop.ts";

const SEED = 7_002;
const enc = new TextEncoder();

function parseAll(chunks: readonly Uint8Array[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (const c of chunks) out.push(...p.push(c));
  out.push(...p.end());
  return out;
}

describe("fuzz: the SSE parser", () => {
  test("3000 generated streams: the same events whatever the chunking and line endings", () => {
    const rnd = prng(SEED);
    const words = ["message_start", "ping", "content_block_delta", "é", "💥", '{"a":1}', "data", ": colon", "", " lead", "x".repeat(100)];
    for (let i = 0; i < 3_000; i++) {
      const eol = pick(rnd, ["\n", "\r\n", "\r"]);
      const expected: SseEvent[] = [];
      let text = "";
      for (let f = 0; f < 1 + rnd() * 6; f++) {
        const event = rnd() < 0.8 ? pick(rnd, ["message_start", "ping", "content_block_delta", "error"]) : "";
        const lines = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(rnd, words).replace(/[\r\n]/g, ""));
        if (rnd() < 0.2) text += `: comment ${pick(rnd, words)}${eol}`;
        if (event) text += `event: ${event}${eol}`;
        for (const l of lines) text += `data: ${l}${eol}`;
        if (rnd() < 0.1) text += `id: ${f}${eol}retry: 10${eol}`;
        text += eol;
        expected.push({ event: event || "message", data: lines.join("\n") });
      }
      const bytes = enc.encode(text);
      const whole = parseAll([bytes]);
      expect(whole).toEqual(expected);
      expect(parseAll(chop(rnd, bytes, 1 + Math.floor(rnd() * 40)))).toEqual(expected);
    }
  });

  test("3000 random byte streams in random chunks: no throw, quick", () => {
    const rnd = prng(SEED + 1);
    const alphabet = enc.encode("data: event:\r\n\n\r xé💥:");
    const t0 = performance.now();
    for (let i = 0; i < 3_000; i++) {
      const n = Math.floor(rnd() * 3_000);
      const bytes = new Uint8Array(n);
      for (let k = 0; k < n; k++) bytes[k] = rnd() < 0.7 ? alphabet[Math.floor(rnd() * alphabet.length)]! : Math.floor(rnd() * 256);
      const events = parseAll(chop(rnd, bytes, 200));
      for (const e of events) {
        expect(typeof e.event).toBe("string");
        expect(typeof e.data).toBe("string");
      }
      // The frame splitter agrees: whatever it says is complete ends in a blank line.
      const cut = lastFrameEnd(bytes);
      expect(cut).toBeGreaterThanOrEqual(0);
      expect(cut).toBeLessThanOrEqual(n);
      if (cut > 0) expect(parseAll([bytes.subarray(0, cut)]).length).toBeGreaterThanOrEqual(0);
    }
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  test("truncated frames: an event without its blank line is never reported", () => {
    const rnd = prng(SEED + 2);
    const frame = 'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\n';
    for (let i = 0; i < 2_000; i++) {
      const cut = Math.floor(rnd() * frame.length);
      const events = parseAll(chop(rnd, enc.encode(frame.repeat(3) + frame.slice(0, cut)), 30));
      expect(events.length).toBe(3);
    }
  });

  test("a 64 MB line with no end, in network-sized chunks: skipped in bounded time and memory, and the next event still parses", () => {
    const p = new SseParser();
    const piece = new Uint8Array(64 * 1024).fill(0x61);
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    let peak = before;
    expect(p.push(enc.encode("data: "))).toEqual([]);
    for (let i = 0; i < 1_024; i++) {
      expect(p.push(piece)).toEqual([]);
      if (i % 64 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    const after = p.push(enc.encode("\n\nevent: ping\ndata: {}\n\n"));
    expect(after).toEqual([{ event: "ping", data: "{}" }]);
    expect(performance.now() - t0).toBeLessThan(30_000);
    // The line is dropped at MAX_LINE_CHARS (4 Mi characters), never held whole.
    expect(peak - before).toBeLessThan(256 * 1024 * 1024);
  });
});
