import { describe, expect, test } from "bun:test";
import { secretFilter } from "../../src/server/secret-filter.ts";

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
