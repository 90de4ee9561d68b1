/**
 * What checking a request body costs, in process: the node count (json-nodes.ts) alone, and
 * the whole check (parseMessagesBody: UTF-8, JSON.parse, model) without the node limit, as
 * before it, and with it. Bodies of 1 MB (the benchmark's, and one shaped like Claude Code's)
 * and of 30 MB (Claude Code's shape, with and without images).
 *
 *   bun scripts/bench/body-check.ts [maxNodes=1000000]
 */
import { countJsonNodes } from "../../src/server/json-nodes.ts";
import { parseMessagesBody } from "../../src/server/request-body.ts";
import { claudeBody } from "./claude-body.ts";
import { requestBody } from "./workload.ts";

const maxNodes = Number(process.argv[2] ?? 1_000_000);
const MIB = 1024 * 1024;
const enc = new TextEncoder();
const bodies: [string, string][] = [
  ["bench 1 MB", requestBody("bench", MIB)],
  ["claude 1 MB", claudeBody(MIB)],
  ["claude 30 MB", claudeBody(30 * MIB)],
  ["claude 30 MB, 4 images", claudeBody(30 * MIB, { images: [5e6, 5e6, 5e6, 5e6] })],
];

type Timing = { min: number; p50: number };
const stats = (ms: number[]): Timing => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { min: sorted[0]!, p50: sorted[Math.floor(sorted.length / 2)]! };
};

/**
 * Each way timed on its own fresh copy, the ways taking turns run by run, so that each pays
 * about as often for the garbage the others leave.
 */
function time(bytes: Uint8Array, runs: number, ways: readonly ((b: Uint8Array) => unknown)[]): Timing[] {
  const ms: number[][] = ways.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < ways.length; k++) {
      const w = (r + k) % ways.length;
      const copy = bytes.slice();
      const t = performance.now();
      ways[w]!(copy);
      ms[w]!.push(performance.now() - t);
    }
  }
  return ms.map(stats);
}

const f = (t: Timing) => `${t.min.toFixed(2)} / ${t.p50.toFixed(2)}`;
console.log(`check of one body, ms min / p50 over fresh copies (max_json_nodes ${maxNodes}):`);
console.log("| body | nodes | count alone | check without the limit | check with it |");
console.log("|---|---:|---:|---:|---:|");
for (const [name, text] of bodies) {
  const bytes = enc.encode(text);
  const runs = bytes.length > 4 * MIB ? 9 : 101;
  const nodes = countJsonNodes(bytes);
  const [count, before, after] = time(bytes, runs, [(b) => countJsonNodes(b, maxNodes), (b) => parseMessagesBody(b), (b) => parseMessagesBody(b, maxNodes)]);
  console.log(`| ${name} (${(bytes.length / MIB).toFixed(1)} MiB) | ${nodes} | ${f(count!)} | ${f(before!)} | ${f(after!)} |`);
}
const hostile = enc.encode(`{"model":"m","messages":[],"x":[${"{},".repeat(10_000_000)}{}]}`);
const [refused] = time(hostile, 9, [(b) => parseMessagesBody(b, maxNodes)]);
console.log(`30 MB of {} (${(hostile.length / MIB).toFixed(1)} MiB), refused after counting: ${f(refused!)} ms`);
