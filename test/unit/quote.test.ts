import { expect, test } from "bun:test";
import { quote } from "../../src/upstream/quote.ts";
import { prng } from "../support/usage-records.ts";

const SEED = 18_008;

test(`generated (seed ${SEED}): a quote is cut between words, so it holds any word whole or not at all`, () => {
  const rnd = prng(SEED);
  const words = ["sk-ant-api03-abcdefghij0123", "the", "key", '"x":', "{", "}", "[a,b]", "token=abc/def==", "é"];
  for (let i = 0; i < 2_000; i++) {
    const seps = [" ", '"', ",", "\n"];
    const text = Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => words[Math.floor(rnd() * words.length)]! + seps[Math.floor(rnd() * seps.length)]!).join("");
    const max = Math.floor(rnd() * 80);
    const q = quote(text, max);
    const where = `case ${i}: quote(${JSON.stringify(text)}, ${max}) = ${JSON.stringify(q)}`;
    if (text.length <= max) {
      expect(q, where).toBe(text);
      continue;
    }
    expect(q.endsWith("…"), where).toBe(true);
    const kept = q.slice(0, -1);
    expect(text.startsWith(kept), where).toBe(true);
    expect(kept.length, where).toBeLessThanOrEqual(max);
    // The character after the cut is a boundary: no word is kept in part.
    if (kept.length > 0) expect(/[\s"',{}[\]<>]/.test(text[kept.length] ?? " "), where).toBe(true);
  }
});
