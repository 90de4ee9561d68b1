/**
 * How long `ccp statusline` takes, as Claude Code runs it: a new process, Claude Code's JSON on
 * stdin (closed at once), one line on stdout. Runs the real entry point against a stub ccp
 * answering /quota (test/support/quota-stub.ts), and against nothing listening, and prints
 * p50 / p95 / max wall time per way of running ccp. (`bun run bench --only statusline` times the
 * compiled binary against a real ccp, judged against the 100 ms target.)
 *
 *   bun scripts/bench/statusline.ts [runs] [--bin dist/ccp]
 */
import { join } from "node:path";
import { freePort } from "../../test/support/cli.ts";
import { startQuotaStub } from "../../test/support/quota-stub.ts";
import { timeStatusline } from "./statusline-time.ts";

const root = join(import.meta.dir, "..", "..");
const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 30);
const binAt = args.indexOf("--bin");
const ways: [string, string[]][] = [["bun src/cli/main.ts", [process.execPath, join(root, "src", "cli", "main.ts")]]];
if (binAt >= 0) ways.push([args[binAt + 1]!, [join(root, args[binAt + 1]!)]]);

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp/ccp-statusline-bench", CCP_HOME: "/tmp/ccp-statusline-bench/state", NO_COLOR: "1" };

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const stub = startQuotaStub();
const dead = await freePort();
try {
  for (const [name, cmd] of ways) {
    for (const [what, port] of [
      ["stub ccp", stub.port],
      ["nothing listening", dead],
    ] as const) {
      const { times, line } = await timeStatusline(cmd, port, runs, env);
      const f = (n: number) => `${n.toFixed(1)} ms`;
      console.log(`${name}, ${what}: p50 ${f(pct(times, 50))}  p95 ${f(pct(times, 95))}  max ${f(Math.max(...times))}  (${runs} runs)  → ${line}`);
    }
  }
} finally {
  stub.stop();
}
