import { describe, expect, test } from "bun:test";
import { readBodyBounded } from "../../src/server/body-limit.ts";
import { MAX_MODEL_CHARS, parseMessagesBody } from "../../src/server/request-body.ts";
import { prng } from "../support/usage-records.ts";

/** Seeded: a failure names its seed and case, and reproduces exactly. */
const SEED = 7_001;
const enc = new TextEncoder();

function randomBytes(rnd: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}

/** A valid body, then damaged: bytes flipped, cut, duplicated, or odd characters spliced in. */
function mutated(rnd: () => number): Uint8Array {
  const weird = ["\u0000", "\r\n", "\u2028", "\u202e", "\ud800", '"', "\\", "{", "]", "é", "💥", "\uffff"];
  const model = rnd() < 0.2 ? weird[Math.floor(rnd() * weird.length)]!.repeat(1 + Math.floor(rnd() * 300)) : "claude-haiku-4-5";
  const body = JSON.stringify({ model, stream: rnd() < 0.5, max_tokens: 16, messages: [{ role: "user", content: "hi ".repeat(Math.floor(rnd() * 50)) }] });
  const bytes = enc.encode(body);
  const r = rnd();
  if (r < 0.25) return bytes.subarray(0, Math.floor(rnd() * bytes.length));
  if (r < 0.5) {
    const copy = bytes.slice();
    for (let k = 0; k < 1 + rnd() * 5; k++) copy[Math.floor(rnd() * copy.length)] = Math.floor(rnd() * 256);
    return copy;
  }
  if (r < 0.6) return enc.encode(JSON.stringify([body, null, 1, "x"][Math.floor(rnd() * 4)]));
  return bytes;
}

describe("fuzz: the Messages body parser", () => {
  test("4000 random and damaged bodies: never throws, and whatever it accepts is sane", () => {
    const rnd = prng(SEED);
    let accepted = 0;
    for (let i = 0; i < 4_000; i++) {
      const bytes = i % 2 ? randomBytes(rnd, Math.floor(rnd() * 2_000)) : mutated(rnd);
      let r: ReturnType<typeof parseMessagesBody>;
      try {
        r = parseMessagesBody(bytes);
      } catch (e) {
        throw new Error(`case ${i} (seed ${SEED}) threw: ${String(e)}`);
      }
      if (!r.ok) {
        expect(typeof r.message).toBe("string");
        continue;
      }
      accepted++;
      expect(typeof r.body.model).toBe("string");
      expect(r.body.model.length).toBeGreaterThan(0);
      expect(r.body.model.length).toBeLessThanOrEqual(MAX_MODEL_CHARS);
      expect(r.body.model).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    }
    expect(accepted).toBeGreaterThan(500);
  });

  test("deep nesting and huge strings are refused or parsed, never a crash", () => {
    const deep = (n: number) => enc.encode(`{"model":"m","messages":${"[".repeat(n)}${"]".repeat(n)}}`);
    for (const n of [1_000, 100_000, 1_000_000]) expect(() => parseMessagesBody(deep(n))).not.toThrow();
    expect(parseMessagesBody(enc.encode(`{"model":"${"m".repeat(5_000_000)}"}`)).ok).toBe(false);
  });
});

describe("fuzz: the bounded body reader", () => {
  test("500 bodies in random chunks around the limit: accepted exactly when within it, bytes intact", async () => {
    const rnd = prng(SEED + 1);
    const limit = 10_000;
    const limits = { max_body_mb: limit / (1024 * 1024), body_timeout_ms: 10_000 };
    for (let i = 0; i < 500; i++) {
      const total = Math.floor(limit * (0.5 + rnd()));
      const whole = randomBytes(rnd, total);
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < total; ) {
        const n = Math.min(total - at, 1 + Math.floor(rnd() * (rnd() < 0.5 ? 16 : 4_000)));
        chunks.push(whole.subarray(at, at + n));
        at += n;
      }
      let served = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          const next = chunks.shift();
          if (!next) return c.close();
          served += next.byteLength;
          c.enqueue(next);
        },
      });
      const declare = rnd() < 0.5;
      const req = new Request("http://x/v1/messages", {
        method: "POST",
        body,
        duplex: "half",
        headers: { "content-type": "application/json", ...(declare ? { "content-length": String(total) } : {}) },
      } as RequestInit);
      const r = await readBodyBounded(req, limits);
      if (total <= limit) {
        expect(r.ok).toBe(true);
        if (r.ok) expect(Buffer.compare(Buffer.from(r.bytes), Buffer.from(whole))).toBe(0);
      } else {
        expect(r).toMatchObject({ ok: false, status: 413 });
        // Never read past the limit by more than one chunk, and not at all when the length was declared.
        expect(served).toBeLessThanOrEqual(declare ? 4_000 : limit + 4_000);
      }
    }
  });
});
