/**
 * What request bodies cost one ccp binary in memory (SECURITY.md, promise 4), on the
 * benchmark's fake upstream, each phase on a fresh ccp with the heap hint `ccp start` gives:
 *
 * - tiny values: the reported body, 30 MiB of `{}` (about 10 million objects), once, then
 *   three at once: peak RSS;
 * - at the limit: bodies of 1 000 000 JSON values (limits.max_json_nodes' default, all `{}`
 *   but four), the costliest that pass, once, three and ten at once: peak RSS;
 * - held: 8 clients whose 30 MiB Claude-Code-shaped bodies (four 5 MB images; long tool
 *   results) get streams of 6 s: RSS while the streams are open, and the peak.
 *
 *   bun scripts/bench/body-memory.ts [BINARY=dist/ccp]
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { claudeBody } from "./claude-body.ts";
import { ccpConfig, makeCert, startCcp, startUpstream, stopAll, stopProcess } from "./processes.ts";
import { memory, rssSampler } from "./proc-stats.ts";
import { shapeHeaders, type StreamShape } from "./workload.ts";

const bin = process.argv[2] ?? join(import.meta.dir, "..", "..", "dist", "ccp");
const MIB = 1024 * 1024;
const FAST: StreamShape = { deltas: 20, intervalMs: 1, deltaChars: 12 };
const SIX_SECONDS: StreamShape = { deltas: 60, intervalMs: 100, deltaChars: 12 };

const dir = mkdtempSync(join(os.tmpdir(), "ccp-body-memory-"));
const cert = makeCert(dir);
const upstream = await startUpstream(dir, cert);
let phase = 0;

/** Runs `work` against a fresh ccp; prints its idle RSS, the peak while `work` ran, and what `work` says. */
async function onFreshCcp(name: string, work: (post: (body: string, shape: StreamShape) => Promise<number>, pid: number) => Promise<string>): Promise<void> {
  const home = join(dir, `ccp-${phase++}`);
  mkdirSync(home);
  const ccp = await startCcp(bin, home, ccpConfig(upstream.url, cert.certFile, false));
  await Bun.sleep(500);
  const idle = memory(ccp.proc.pid).rssMb;
  const post = async (body: string, shape: StreamShape) => {
    const res = await fetch(`${ccp.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k", ...shapeHeaders(shape) },
      body,
    });
    await res.arrayBuffer();
    return res.status;
  };
  const sampler = rssSampler(ccp.proc.pid, 10);
  const said = await work(post, ccp.proc.pid);
  console.log(`${name}: RSS idle ${idle.toFixed(0)} MB, peak ${sampler.stop().toFixed(0)} MB; ${said}`);
  await stopProcess(ccp.proc);
}

const statuses = (xs: number[]) => `status ${[...new Set(xs)].map((s) => `${s} ×${xs.filter((x) => x === s).length}`).join(", ")}`;

try {
  console.log(`ccp binary: ${bin}`);
  const tiny = `{"model":"m","messages":[],"x":[${"{},".repeat(Math.floor((30 * MIB - 40) / 3))}{}]}`;
  await onFreshCcp("30 MiB of {}, once", async (post) => statuses([await post(tiny, FAST)]));
  await onFreshCcp("30 MiB of {}, three at once", async (post) => statuses(await Promise.all([1, 2, 3].map(() => post(tiny, FAST)))));

  const atLimit = `{"model":"m","messages":[],"x":[${"{},".repeat(1_000_000 - 5)}{}]}`;
  for (const n of [1, 3, 10]) {
    await onFreshCcp(`1 000 000 values (${(atLimit.length / MIB).toFixed(1)} MiB), ${n} at once`, async (post) => statuses(await Promise.all(Array.from({ length: n }, () => post(atLimit, FAST)))));
  }

  for (const [kind, body] of [
    ["images", claudeBody(30 * MIB, { model: "bench", images: [5_000_000, 5_000_000, 5_000_000, 5_000_000] })],
    ["tool results", claudeBody(30 * MIB, { model: "bench" })],
  ] as const) {
    await onFreshCcp(`8 streams of 6 s with 30 MiB bodies (${kind})`, async (post, pid) => {
      const all = Promise.all(Array.from({ length: 8 }, () => post(body, SIX_SECONDS)));
      await Bun.sleep(4_500);
      const held = memory(pid).rssMb;
      return `while open ${held.toFixed(0)} MB; ${statuses(await all)}`;
    });
  }
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
