import { describe, expect, test } from "bun:test";
import { countJsonNodes, jsonDepthExceeds, mayExceedNodes } from "../../src/server/json-nodes.ts";
import { prng } from "../support/usage-records.ts";

const enc = new TextEncoder();
const count = (text: string, limit?: number) => countJsonNodes(enc.encode(text), limit);

/** The reference: every value of the tree JSON.parse builds (a member's key is not a value). */
function reference(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((n: number, x) => n + reference(x), 0);
  if (v !== null && typeof v === "object") return 1 + Object.values(v).reduce((n: number, x) => n + reference(x), 0);
  return 1;
}

/** Strings that test the scanner's string handling: structural characters, escapes, UTF-8 of every length. */
const TRICKY = ['"', "\\", '\\"', '"\\', "{", "}", "[", "]", ",", ":", "\n", "\u0000", "\u001f", "é", "✓", "💥", "\u2028", " ", "\\\\\\", "a,b", '{"x":[1,2]}'];

/** A random JSON value, seeded: nested objects and arrays (empty ones too), strings, numbers, literals. */
function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 0 && r < 0.22) return Array.from({ length: Math.floor(rnd() * 6) }, () => randomValue(rnd, depth - 1));
  if (depth > 0 && r < 0.44) {
    const o: Record<string, unknown> = {};
    for (let k = Math.floor(rnd() * 6); k > 0; k--) o[randomString(rnd)] = randomValue(rnd, depth - 1);
    return o;
  }
  if (r < 0.7) return randomString(rnd);
  if (r < 0.85) return [0, -1, 3.25, 1e21, -2.5e-7, 123456789][Math.floor(rnd() * 6)];
  return [true, false, null][Math.floor(rnd() * 3)];
}

function randomString(rnd: () => number): string {
  let s = "";
  for (let k = Math.floor(rnd() * 5); k > 0; k--) s += rnd() < 0.5 ? TRICKY[Math.floor(rnd() * TRICKY.length)] : "abc def".slice(0, 1 + Math.floor(rnd() * 7));
  // Now and then a long one, past the scanner's short-string loop.
  return rnd() < 0.05 ? s + "x".repeat(Math.floor(rnd() * 200)) + s : s;
}

/** JSON text of `v` with random whitespace between tokens (JSON.stringify's, then more). */
function randomText(rnd: () => number, v: unknown): string {
  const text = JSON.stringify(v, null, rnd() < 0.3 ? Math.floor(rnd() * 4) : undefined);
  if (rnd() < 0.5) return text;
  // Whitespace may go before and after any structural character outside strings.
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i]!;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    const pad = "{}[],:".includes(c) && rnd() < 0.3 ? [" ", "\n", "\t", "\r\n "][Math.floor(rnd() * 4)]! : "";
    out += pad + c + pad;
  }
  return rnd() < 0.5 ? ` ${out}\n` : out;
}

describe("countJsonNodes", () => {
  test.each([
    ["", 0],
    ["{}", 1],
    ["[]", 1],
    ['"x"', 1],
    ["0", 1],
    ["null", 1],
    ["[[],{}]", 3],
    ["[{},{},{}]", 4],
    ['{"a":1,"b":[2,3]}', 5],
    ['{"a":{},"b":[]}', 3],
    [' [ 1 , [ ] , { "k" : [ ] } ] ', 5],
    ['["a,b{[\\"]}", "\\\\", "\\\\\\""]', 4],
    ['{"\\"":",","}":"{"}', 3],
    ['["é✓💥", {"ü": "\\u2028"}]', 4],
    ['{"model":"m","messages":[],"x":[{},{},{}]}', 7],
  ])("%s → %d", (text, nodes) => {
    expect(count(text)).toBe(nodes);
    if (text) expect(reference(JSON.parse(text))).toBe(nodes);
  });

  test("3000 seeded random documents: the depth scan says deeper than k exactly when the parsed tree is", () => {
    const seed = 51_203;
    const rnd = prng(seed);
    const depthOf = (v: unknown): number => (typeof v === "object" && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    for (let i = 0; i < 3_000; i++) {
      const text = randomText(rnd, randomValue(rnd, 1 + Math.floor(rnd() * 8)));
      const depth = depthOf(JSON.parse(text));
      const bytes = enc.encode(text);
      for (let k = Math.max(0, depth - 1); k <= depth + 1; k++) {
        if (jsonDepthExceeds(bytes, k) !== depth > k) throw new Error(`seed ${seed}, document ${i}: depth ${depth}, scan said ${!(depth > k)} for ${k}\n${text.slice(0, 2_000)}`);
      }
    }
    expect(jsonDepthExceeds(enc.encode(`${"[".repeat(600)}${"]".repeat(600)}`), 512)).toBe(true);
  });

  test("3000 seeded random documents: the count equals JSON.parse's, exactly and against a limit", () => {
    const seed = 40_417;
    const rnd = prng(seed);
    for (let i = 0; i < 3_000; i++) {
      const text = randomText(rnd, randomValue(rnd, 1 + Math.floor(rnd() * 6)));
      const want = reference(JSON.parse(text));
      const bytes = enc.encode(text);
      const limit = Math.floor(rnd() * want * 2);
      const got = countJsonNodes(bytes);
      const bounded = countJsonNodes(bytes, limit);
      if (got !== want || (want <= limit ? bounded !== want : bounded <= limit)) {
        throw new Error(`seed ${seed}, document ${i}: counted ${got} (with limit ${limit}: ${bounded}), JSON.parse built ${want}\n${text.slice(0, 2_000)}`);
      }
      // The bound that lets small bodies skip the count holds for every document.
      if (!mayExceedNodes(bytes.length, want - 1)) throw new Error(`seed ${seed}, document ${i}: ${want} nodes in ${bytes.length} bytes breaks the (n + 1) / 2 bound`);
    }
  });

  test("the densest documents meet the (n + 1) / 2 bound exactly, and one node more is over it", () => {
    for (const text of ["0", "[0]", "[0,0,0]", "[0,[0],[0,0]]"]) {
      const nodes = count(text);
      expect(mayExceedNodes(text.length, nodes)).toBe(false);
      expect(mayExceedNodes(text.length, nodes - 1)).toBe(true);
    }
  });

  test("stops once the limit is certainly passed, and says so with a number above it", () => {
    const text = `[${"{},".repeat(999)}{}]`;
    expect(count(text)).toBe(1_001);
    expect(count(text, 1_001)).toBe(1_001);
    expect(count(text, 1_000)).toBeGreaterThan(1_000);
    expect(count(text, 10)).toBeGreaterThan(10);
    expect(count("[1,2,3,4,5,6,7,8,9]", 4)).toBeGreaterThan(4);
  });

  test("invalid JSON and random bytes: always a number, never a throw, one pass", () => {
    const rnd = prng(9);
    for (let i = 0; i < 500; i++) {
      const bytes = new Uint8Array(Math.floor(rnd() * 3_000)).map(() => [0x22, 0x5c, 0x2c, 0x7b, 0x5b, 0x7d, 0x5d, 0x20, 0x61, 0xff][Math.floor(rnd() * 10)]!);
      expect(Number.isFinite(countJsonNodes(bytes, 100))).toBe(true);
    }
    // An unterminated string, and a long run of escaped quotes (each backslash is looked at once).
    expect(count('["abc')).toBe(2);
    expect(count(`["${'\\"'.repeat(500_000)}"]`)).toBe(2);
  });
});
