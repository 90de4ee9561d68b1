import { describe, expect, test } from "bun:test";
import { H1ProtocolError, H1ResponseParser, type H1Event } from "../../src/upstream/h1-parser.ts";
import { prng } from "../support/usage-records.ts";
import { chop, pick } from "./chop.ts";
import { concat } from "../../src/resilience/peek.ts";

const SEED = 7_003;
const enc = new TextEncoder();

/** Feeds chunks, then the close; returns the events, or the protocol error. Anything else thrown fails the test. */
function run(chunks: readonly Uint8Array[], close: boolean): { events: H1Event[]; error?: H1ProtocolError } {
  const p = new H1ResponseParser("POST");
  const events: H1Event[] = [];
  try {
    for (const c of chunks) {
      events.push(...p.push(c));
      if (p.done) break;
    }
    if (close && !p.done) events.push(...p.finish());
  } catch (e) {
    if (!(e instanceof H1ProtocolError)) throw e;
    return { events, error: e };
  }
  return { events };
}

/** A valid response: status, headers, and a body framed by content-length, chunked coding, or close. */
function response(rnd: () => number): { bytes: Uint8Array; status: number; body: Uint8Array; framing: string } {
  const status = pick(rnd, [200, 200, 201, 400, 429, 500, 529]);
  const body = new Uint8Array(Math.floor(rnd() * 3_000)).map(() => Math.floor(rnd() * 256));
  const framing = pick(rnd, ["length", "chunked", "close"]);
  let head = `HTTP/1.1 ${status} ${pick(rnd, ["OK", "", "Whatever Reason"])}\r\n`;
  if (rnd() < 0.3) head = `HTTP/1.1 100 Continue\r\n\r\n${head}`;
  head += `content-type: ${pick(rnd, ["text/event-stream", "application/json"])}\r\n`;
  for (let i = 0; i < rnd() * 5; i++) head += `x-h${i}:${pick(rnd, ["", " v", "  spaced  ", "é"])}\r\n`;
  const parts: Uint8Array[] = [];
  if (framing === "length") parts.push(enc.encode(`${head}Content-Length: ${body.length}\r\n\r\n`), body);
  else if (framing === "close") parts.push(enc.encode(`${head}\r\n`), body);
  else {
    parts.push(enc.encode(`${head}Transfer-Encoding: chunked\r\n\r\n`));
    for (let at = 0; at < body.length; ) {
      const n = Math.min(body.length - at, 1 + Math.floor(rnd() * 700));
      parts.push(enc.encode(`${n.toString(16)}${rnd() < 0.2 ? ";ext=1" : ""}\r\n`), body.subarray(at, at + n), enc.encode("\r\n"));
      at += n;
    }
    parts.push(enc.encode(rnd() < 0.3 ? "0\r\nx-trailer: 1\r\n\r\n" : "0\r\n\r\n"));
  }
  return { bytes: concat(parts), status, body, framing };
}

describe("fuzz: the HTTP/1.1 response parser", () => {
  test("2000 valid responses in random chunks: same head, same body bytes, one end", () => {
    const rnd = prng(SEED);
    for (let i = 0; i < 2_000; i++) {
      const r = response(rnd);
      const { events, error } = run(chop(rnd, r.bytes, 1 + Math.floor(rnd() * 500)), true);
      expect(error).toBeUndefined();
      const heads = events.filter((e) => e.type === "head");
      expect(heads.length).toBe(1);
      expect(heads[0]).toMatchObject({ status: r.status });
      const body = concat(events.flatMap((e) => (e.type === "body" ? [e.chunk] : [])));
      expect(Buffer.compare(Buffer.from(body), Buffer.from(r.body))).toBe(0);
      expect(events.filter((e) => e.type === "end").length).toBe(1);
    }
  });

  test("3000 truncated, damaged and random inputs: only H1ProtocolError, never another exception", () => {
    const rnd = prng(SEED + 1);
    let errors = 0;
    for (let i = 0; i < 3_000; i++) {
      let bytes: Uint8Array;
      const kind = i % 3;
      if (kind === 0) {
        const r = response(rnd).bytes;
        bytes = r.subarray(0, Math.floor(rnd() * r.length));
      } else if (kind === 1) {
        bytes = response(rnd).bytes.slice();
        for (let k = 0; k < 1 + rnd() * 4; k++) bytes[Math.floor(rnd() * bytes.length)] = pick(rnd, [0, 10, 13, 58, 59, 0x30, 0x66, 0xff, Math.floor(rnd() * 256)]);
      } else {
        bytes = new Uint8Array(Math.floor(rnd() * 2_000)).map(() => Math.floor(rnd() * 256));
      }
      const { error } = run(chop(rnd, bytes, 300), true);
      if (error) errors++;
    }
    expect(errors).toBeGreaterThan(1_000);
  });

  test("hostile sizes are refused early: a head that never ends, a chunk-size line that never ends, a giant chunk size", () => {
    const endlessHead = run(
      Array.from({ length: 200 }, () => enc.encode(`x-long: ${"a".repeat(1_000)}`)),
      false,
    );
    expect(endlessHead.error?.message).toContain("larger than 64 KiB");
    const endlessLine = run([enc.encode("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"), ...Array.from({ length: 20 }, () => enc.encode("f".repeat(1_000)))], false);
    expect(endlessLine.error?.message).toContain("chunk framing line too long");
    const giant = run([enc.encode("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc")], false);
    expect(giant.error === undefined || giant.error instanceof H1ProtocolError).toBe(true);
    const bad = run([enc.encode("HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n")], false);
    expect(bad.error?.message).toContain("bad content-length");
    const smuggle = run([enc.encode("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, identity\r\n\r\n")], false);
    expect(smuggle.error?.message).toContain("unsupported transfer-encoding");
  });
});
