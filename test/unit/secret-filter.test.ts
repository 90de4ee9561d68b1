import { describe, expect, test } from "bun:test";
import { secretFilter } from "../../src/server/secret-filter.ts";
import { prng } from "../support/usage-records.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe("secretFilter", () => {
  test("nothing to hide: no filter at all (short values are not secrets worth blanking words for)", () => {
    expect(secretFilter([undefined, "", "abc"])).toBeUndefined();
  });

  test("every known secret is replaced in text, the longest first", () => {
    const f = secretFilter(["zai-key-123456", "zai-key-123456-and-more", undefined])!;
    expect(f.text("a zai-key-123456-and-more b zai-key-123456 c")).toBe("a [redacted] b [redacted] c");
    expect(f.text("nothing here")).toBe("nothing here");
  });

  test("bytes without a secret come back as the same array; with one, replaced (UTF-8 around it kept)", () => {
    const f = secretFilter(["proxy-key-abcdef"])!;
    const clean = enc("data: héllo\n\n");
    expect(f.bytes(clean)).toBe(clean);
    const dirty = enc('data: {"m":"é proxy-key-abcdef ü"}\n\n').subarray(6);
    expect(dec(f.bytes(dirty))).toBe('{"m":"é [redacted] ü"}\n\n');
  });
});

describe("secretFilter: a secret written with JSON escapes", () => {
  const KEY = "zai-key-0123456789abcdef";
  const SEED = 18_002;

  test(`generated (seed ${SEED}): any mix of \\u escapes, in either hex case, is found in text and bytes`, () => {
    const f = secretFilter([KEY])!;
    const rnd = prng(SEED);
    for (let i = 0; i < 1_000; i++) {
      const written = [...KEY]
        .map((c) => {
          if (rnd() < 0.5) return c;
          const hex = c.charCodeAt(0).toString(16).padStart(4, "0");
          return `\\u${rnd() < 0.5 ? hex : hex.toUpperCase()}`;
        })
        .join("");
      const body = `{"type":"error","error":{"message":"bad key ${written} é"}}`;
      expect(f.text(body), `case ${i}: ${written}`).toBe('{"type":"error","error":{"message":"bad key [redacted] é"}}');
      expect(dec(f.bytes(enc(body))), `case ${i}: ${written}`).toBe('{"type":"error","error":{"message":"bad key [redacted] é"}}');
    }
  });

  test("other escapes are left alone; reach covers the longest written form", () => {
    const f = secretFilter([KEY])!;
    const clean = enc('{"text":"\\u00e9t\\u00e9 \\ud83d\\udca5"}');
    expect(f.bytes(clean)).toBe(clean);
    expect(f.reach).toBe(KEY.length * 6);
  });
});

describe("secretFilter: what an attacker's upstream tried (review of issue 18)", () => {
  test("a key with / written with JSON's short escape \\/ is found", () => {
    const key = "sk-lane/Q2hhbmdlTWUrUGxlYXNlK/0123456789==";
    const f = secretFilter([key])!;
    const body = `{"msg":"your key is ${key.replaceAll("/", "\\/")}"}`;
    expect(dec(f.bytes(enc(body)))).toBe('{"msg":"your key is [redacted]"}');
  });

  test(`generated (seed 18007): a piece that ends inside a UTF-8 character keeps its last bytes whole`, () => {
    const key = "zai-key-0123456789abcdef";
    const f = secretFilter([key])!;
    const rnd = prng(18_007);
    const chars = ["é", "ü", "—", "💥", "中", "a", " "];
    for (let i = 0; i < 500; i++) {
      const text = `${key} ${Array.from({ length: 20 }, () => chars[Math.floor(rnd() * chars.length)]).join("")}`;
      const bytes = enc(text);
      const cut = key.length + 1 + Math.floor(rnd() * (bytes.byteLength - key.length - 1));
      const out = Buffer.concat([f.bytes(bytes.subarray(0, cut)), bytes.subarray(cut)]);
      expect(dec(out), `case ${i}, cut ${cut}`).toBe(text.replace(key, "[redacted]"));
    }
  });

  test("a header name holding a secret is told, whatever its case", () => {
    const f = secretFilter(["LaneKEY-abcdef0123"])!;
    expect(f.inName("x-lanekey-abcdef0123")).toBe(true);
    expect(f.inName("x-request-id")).toBe(false);
  });
});
