/**
 * Where a stalled client's stream goes (SECURITY.md, promise 4). ccp's server runs in this
 * process, so its memory can be read after a full collection; the benchmark's upstream and
 * the clients (its load generator's stall job: read the first delta of an endless stream, then
 * nothing) run in their own processes. Per lane, with N clients stalled for 6 s, it prints:
 *
 * - what the upstream sent per stream, and how much of it sits in the kernel's socket queues
 *   (`ss -tn`: both ends of the client's connection and of the upstream's);
 * - what waits in each stream's body queue in ccp (queue-watch.ts), at the end of the stall
 *   and at most;
 * - ccp's RSS, and its live JavaScript heap after a full collection (ArrayBuffer contents
 *   included), each per stalled client.
 *
 *   BUN_JSC_forceRAMSize=268435456 bun scripts/bench/stall-memory.ts [clients=20] [h1,h2]
 *
 * (the heap hint that `ccp start` gives its server, so that collections keep the pace they have there).
 */
import { heapStats } from "bun:jsc";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { startServer } from "../../src/server/serve.ts";
import type { StallJob } from "./loadgen.ts";
import { ccpConfig, makeCert, startLoadGen, startUpstream, stopAll } from "./processes.ts";
import { watchBodyQueues } from "./queue-watch.ts";

const clients = Number(process.argv[2] ?? 20);
const lanes = (process.argv[3] ?? "h1,h2").split(",") as ("h1" | "h2")[];
const KIB = 1024;

const dir = mkdtempSync(join(os.tmpdir(), "ccp-stall-memory-"));
const cert = makeCert(dir);
const upstream = await startUpstream(dir, cert);
const upstreamPort = Number(new URL(upstream.url).port);
const file = join(dir, "ccp.toml");
writeFileSync(file, ccpConfig(upstream.url, cert.certFile, false));
const server = startServer(loadConfig({ file, env: { HOME: dir, CCP_HOME: join(dir, "state") }, port: 0 }), { info() {}, warn() {}, error: console.error });
const gen = startLoadGen(dir);

const queues = watchBodyQueues();

/** Bytes in the kernel's receive and send queues of the TCP connections to `port` (both ends, when both are local). */
function kernelQueued(port: number): number {
  const rows = Bun.spawnSync(["ss", "-tn"]).stdout.toString().trim().split("\n").slice(1);
  let bytes = 0;
  for (const row of rows) {
    const [, recvQ, sendQ, local, peer] = row.trim().split(/\s+/);
    if (local?.endsWith(`:${port}`) || peer?.endsWith(`:${port}`)) bytes += Number(recvQ) + Number(sendQ);
  }
  return bytes;
}

function memoryNow(): { rss: number; heap: number } {
  Bun.gc(true);
  return { rss: process.memoryUsage().rss, heap: heapStats().heapSize };
}

try {
  // One request per lane first: connections, sessions and the JIT, outside the measure.
  for (const model of ["bench-h1", "bench-h2"]) {
    await (
      await fetch(`${server.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": "k" },
        body: JSON.stringify({ model, messages: [] }),
      })
    ).text();
  }
  console.log(`${clients} clients stalled 6 s on each lane; per stream (KB) and per client:`);
  console.log("| lane | upstream sent | in kernel queues | in ccp's queue: at the end / most | ccp RSS | ccp live heap |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const lane of lanes) {
    await upstream.reset();
    await Bun.sleep(500);
    queues.clear();
    const before = memoryNow();
    const job: Omit<StallJob, "id"> = {
      kind: "stall",
      port: server.port,
      clients,
      model: `bench-${lane}`,
      shape: { deltas: 1_000_000, intervalMs: 0, deltaChars: 400 },
      stallMs: 6_000,
    };
    const run = gen.run(job);
    await Bun.sleep(4_500);
    const { sentBytes } = await upstream.stats();
    const kernel = kernelQueued(server.port) + kernelQueued(upstreamPort);
    const open = queues.open();
    const during = memoryNow();
    const result = await run;
    if (result.count !== clients || result.errorCount > 0) throw new Error(`stall on ${lane}: ${result.count} of ${clients} clients stayed, ${result.errors.join("; ")}`);
    const per = (bytes: number) => (bytes / clients / KIB).toFixed(0);
    const kb = (xs: number[]) => `${(Math.min(...xs) / KIB).toFixed(0)}–${(Math.max(...xs) / KIB).toFixed(0)}`;
    console.log(
      `| ${lane} | ${per(sentBytes)} | ${per(kernel)} | ${kb(open.map((q) => q.now))} / ${kb(open.map((q) => q.max))} | ${per(during.rss - before.rss)} | ${per(during.heap - before.heap)} |`,
    );
    await Bun.sleep(1_000);
  }
} finally {
  await server.stop(100);
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
