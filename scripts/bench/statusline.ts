/**
 * How long `ccp statusline` takes, as Claude Code runs it: a new process, Claude Code's JSON on
 * stdin (closed at once), one line on stdout. Runs the real entry point against a stub ccp
 * answering /quota (test/support/quota-stub.ts), and against nothing listening, and prints
 * p50 / p95 / max wall time per way of running ccp.
 *
 *   bun scripts/bench/statusline.ts [runs] [--bin dist/ccp]
 */
import { join } from "node:path";
import { freePort } from "../../test/support/cli.ts";
import { startQuotaStub } from "../../test/support/quota-stub.ts";

const root = join(import.meta.dir, "..", "..");
const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 30);
const binAt = args.indexOf("--bin");
const ways: [string, string[]][] = [["bun src/cli/main.ts", [process.execPath, join(root, "src", "cli", "main.ts")]]];
if (binAt >= 0) ways.push([args[binAt + 1]!, [join(root, args[binAt + 1]!)]]);

const stdin = new TextEncoder().encode(JSON.stringify({ session_id: "s1", model: { id: "claude-sonnet-4-6", display_name: "Sonnet 4.6" }, workspace: { current_dir: "/tmp" } }));
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp/ccp-statusline-bench", CCP_HOME: "/tmp/ccp-statusline-bench/state", NO_COLOR: "1" };

async function once(cmd: string[], port: number): Promise<{ ms: number; out: string }> {
  const t0 = performance.now();
  const proc = Bun.spawn([...cmd, "statusline", "--port", String(port)], { env, stdin, stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return { ms: performance.now() - t0, out: out.trim() };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const stub = startQuotaStub();
const dead = await freePort();
try {
  for (const [name, cmd] of ways) {
    for (const [what, port] of [
      ["stub ccp", stub.port],
      ["nothing listening", dead],
    ] as const) {
      await once(cmd, port); // warm the file cache
      const times: number[] = [];
      let line = "";
      for (let i = 0; i < runs; i++) {
        const r = await once(cmd, port);
        times.push(r.ms);
        line = r.out;
      }
      const f = (n: number) => `${n.toFixed(1)} ms`;
      console.log(`${name}, ${what}: p50 ${f(pct(times, 50))}  p95 ${f(pct(times, 95))}  max ${f(Math.max(...times))}  (${runs} runs)  → ${line}`);
    }
  }
} finally {
  stub.stop();
}
