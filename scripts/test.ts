/**
 * Runs the whole suite with bun test and ends with one plain line "N passed, N failed"
 * (CI reads that line; bun's own summary is not recognised there). Extra arguments go to bun test.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const outDir = join(root, ".tmp");
mkdirSync(outDir, { recursive: true });
const junit = join(outDir, "junit.xml");
writeFileSync(junit, "");

// A whole run checks the code's shape first (biome's lint rules and formatter, as `npm run lint`):
// it counts as one test, and a finding as a failure.
const whole = process.argv.length <= 2;
const lintFailed = whole && Bun.spawnSync([join(root, "node_modules", ".bin", "biome"), "ci", "."], { cwd: root, stdio: ["ignore", "inherit", "inherit"] }).exitCode !== 0;
if (lintFailed) console.error("lint: biome ci found problems (npm run format fixes the formatting; see above)");

// A whole run spreads the test files over two workers: most of the suite waits on sockets and
// timers, not the CPU (6 min instead of 11 on a 2-core machine). The few files that load the machine
// on purpose (a dozen Claude Code processes at once, memory ceilings) and judge what ccp did under
// that load run afterwards, alone. CCP_TEST_PARALLEL=1 runs everything one by one.
const workers = Number(process.env.CCP_TEST_PARALLEL ?? 2);
const ALONE = ["test/e2e/burst.test.ts", "test/e2e/cluster.test.ts", "test/e2e/security-load.test.ts", "test/e2e/security-memory.test.ts", "test/e2e/fault-campaign.test.ts"];
const runs: string[][] =
  whole && workers > 1
    ? [
        [
          `--parallel=${workers}`,
          ...allTestFiles()
            .filter((f) => !ALONE.includes(f))
            .map((f) => `./${f}`),
        ],
        ALONE.map((f) => `./${f}`),
      ]
    : [process.argv.slice(2)];

function allTestFiles(): string[] {
  return [...new Bun.Glob("test/**/*.test.ts").scanSync({ cwd: root })].sort();
}

let code = 0;
const totals = { tests: 0, skipped: 0, failures: 0 };
for (const [i, args] of runs.entries()) {
  const out = runs.length > 1 ? join(outDir, `junit-${i}.xml`) : junit;
  writeFileSync(out, "");
  const proc = Bun.spawn([process.execPath, "test", "--timeout", "120000", "--reporter=junit", `--reporter-outfile=${out}`, ...args], { cwd: root, stdio: ["inherit", "inherit", "inherit"] });
  code = (await proc.exited) || code;
  const top = /<testsuites\b[^>]*>/.exec(readFileSync(out, "utf8"))?.[0] ?? "";
  const attr = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(top)?.[1] ?? 0);
  totals.tests += attr("tests");
  totals.skipped += attr("skipped");
  totals.failures += attr("failures");
}
const { tests, skipped } = totals;
let failed = totals.failures + (lintFailed ? 1 : 0);
// bun exits non-zero for errors outside any test too (an unhandled rejection between tests):
// count that as a failure so the summary never reads green on a red run.
if (code !== 0 && failed === 0) failed = 1;
const passed = Math.max(0, tests - totals.failures - skipped) + (whole && !lintFailed ? 1 : 0);
const summary = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`;
writeFileSync(join(outDir, "summary.txt"), `${summary}\n`);
console.log(summary);
process.exit(code !== 0 || failed > 0 || tests === 0 ? 1 : 0);
