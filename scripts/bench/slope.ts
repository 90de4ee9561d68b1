/**
 * Splits a proxy's CPU per request into a fixed part and a part per SSE chunk: the same c=50 load
 * with short streams (4 deltas) and long ones (60 deltas), through ccp's h1 lane, its h2 lane and
 * the relay floor (relay.ts), each on one fake upstream. The fixed part is the request's own cost
 * (routing, checks, usage record, response set-up); the slope is what each upstream chunk costs
 * on its way to the client.
 *
 *   bun scripts/bench/slope.ts [CCP_BINARY=dist/ccp] [requests=2000]
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { ccpConfig, makeCert, startCcp, startFloor, startUpstream, stopAll } from "./processes.ts";
import { cpuSeconds } from "./proc-stats.ts";
import { requestBody, shapeHeaders } from "./workload.ts";

const [bin = join(import.meta.dir, "..", "..", "dist", "ccp"), requestsArg = "2000"] = process.argv.slice(2);
const requests = Number(requestsArg);
const SHORT = 4;
const LONG = 60;
const CONCURRENCY = 50;

const dir = mkdtempSync(join(os.tmpdir(), "ccp-slope-"));
try {
  const cert = makeCert(dir);
  const upstream = await startUpstream(dir, cert);
  mkdirSync(join(dir, "ccp"));
  const ccp = await startCcp(bin, join(dir, "ccp"), ccpConfig(upstream.url, cert.certFile, true));
  const relay = await startFloor(dir, upstream.url, cert, "relay");
  const arms = [
    { name: "ccp h1 lane", url: ccp.url, pid: ccp.proc.pid, model: "bench-h1" },
    { name: "ccp h2 lane", url: ccp.url, pid: ccp.proc.pid, model: "bench-h2" },
    { name: "relay", url: relay.url, pid: relay.pid, model: "bench-h1" },
  ];

  const load = async (url: string, model: string, deltas: number, n: number) => {
    const body = requestBody(model, 4096);
    const headers = {
      "content-type": "application/json",
      "x-api-key": "k",
      "anthropic-version": "2023-06-01",
      ...shapeHeaders({ deltas, intervalMs: 1, deltaChars: 12 }),
    };
    let left = n;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (left-- > 0) {
          const res = await fetch(`${url}/v1/messages`, { method: "POST", headers, body });
          if (!(await res.text()).includes("message_stop") || res.status !== 200) throw new Error(`bad answer ${res.status} from ${url}`);
        }
      }),
    );
  };
  /** CPU ms per request of one arm at one stream length. */
  const measure = async (arm: (typeof arms)[number], deltas: number) => {
    const before = cpuSeconds(arm.pid);
    await load(arm.url, arm.model, deltas, requests);
    return ((cpuSeconds(arm.pid) - before) * 1000) / requests;
  };

  for (const arm of arms) await load(arm.url, arm.model, 20, 500); // warm-up
  const figures = new Map(arms.map((a) => [a.name, { short: [] as number[], long: [] as number[] }]));
  for (let round = 0; round < 2; round++) {
    for (const arm of arms) {
      figures.get(arm.name)!.short.push(await measure(arm, SHORT));
      figures.get(arm.name)!.long.push(await measure(arm, LONG));
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`CPU per request at c=${CONCURRENCY}, ${requests} requests per measure, two rounds:`);
  for (const [name, f] of figures) {
    const perChunkUs = ((mean(f.long) - mean(f.short)) / (LONG - SHORT)) * 1000;
    const fixed = mean(f.short) - (perChunkUs / 1000) * SHORT;
    console.log(
      `  ${name.padEnd(12)} ${SHORT} deltas ${f.short.map((x) => x.toFixed(2)).join("/")} ms, ${LONG} deltas ${f.long.map((x) => x.toFixed(2)).join("/")} ` +
        `ms → fixed ${fixed.toFixed(2)} ms + ${perChunkUs.toFixed(0)} µs per delta`,
    );
  }
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
