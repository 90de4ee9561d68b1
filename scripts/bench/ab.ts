/**
 * CPU per request of two ccp binaries under the same load, for changes too small for the main
 * benchmark's run-to-run noise: both run side by side on one fake upstream, and phases of N
 * requests at concurrency C alternate between them (A B, B A, ...).
 *
 *   bun scripts/bench/ab.ts OLD_BINARY NEW_BINARY [phases=8] [requests=1000] [concurrency=20] [h1|h2] [bodyBytes=4096]
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { type Ccp, ccpConfig, makeCert, startCcp, startUpstream, stopAll } from "./processes.ts";
import { cpuSeconds } from "./proc-stats.ts";
import { requestBody, shapeHeaders } from "./workload.ts";

const [binA, binB, phasesArg = "8", requestsArg = "1000", concurrencyArg = "20", proto = "h1", bodyArg = "4096"] = process.argv.slice(2);
if (!binA || !binB) {
  console.error("usage: bun scripts/bench/ab.ts OLD_BINARY NEW_BINARY [phases] [requests] [concurrency] [h1|h2] [bodyBytes]");
  process.exit(2);
}
const phases = Number(phasesArg);
const requests = Number(requestsArg);
const concurrency = Number(concurrencyArg);

const dir = mkdtempSync(join(os.tmpdir(), "ccp-ab-"));
const cert = makeCert(dir);
const upstream = await startUpstream(dir, cert);
const start = (name: string, bin: string) => {
  const home = join(dir, name);
  mkdirSync(home);
  return startCcp(bin, home, ccpConfig(upstream.url, cert.certFile, true));
};
const a = await start("a", binA);
const b = await start("b", binB);
const body = requestBody(proto === "h2" ? "bench-h2" : "bench-h1", Number(bodyArg));
const headers = {
  "content-type": "application/json",
  "x-api-key": "k",
  "anthropic-version": "2023-06-01",
  ...shapeHeaders({ deltas: 20, intervalMs: 1, deltaChars: 12 }),
};

async function phase(ccp: Ccp, n: number): Promise<void> {
  let left = n;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const res = await fetch(`${ccp.url}/v1/messages`, { method: "POST", headers, body });
        const text = await res.text();
        if (res.status !== 200 || !text.includes("message_stop")) throw new Error(`bad answer ${res.status}`);
      }
    }),
  );
}

try {
  await phase(a, 500);
  await phase(b, 500);
  const perRequest: Record<"A" | "B", number[]> = { A: [], B: [] };
  for (let i = 0; i < phases; i++) {
    const order: ["A" | "B", Ccp][] =
      i % 2
        ? [
            ["A", a],
            ["B", b],
          ]
        : [
            ["B", b],
            ["A", a],
          ];
    for (const [name, ccp] of order) {
      const before = cpuSeconds(ccp.proc.pid);
      await phase(ccp, requests);
      await Bun.sleep(400); // usage writes that trail the last response
      perRequest[name].push(((cpuSeconds(ccp.proc.pid) - before) * 1000) / requests);
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  const show = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(" ");
  console.log(`ccp CPU ms per request, ${phases} phases of ${requests} at c=${concurrency} (${proto}, ${bodyArg}-byte bodies):`);
  console.log(`  A ${binA}: median ${median(perRequest.A).toFixed(3)}  [${show(perRequest.A)}]`);
  console.log(`  B ${binB}: median ${median(perRequest.B).toFixed(3)}  [${show(perRequest.B)}]`);
  console.log(`  B / A ${(median(perRequest.B) / median(perRequest.A)).toFixed(3)}`);
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
