import { describe, expect, test } from "bun:test";
import { arm, render, targets, type Report, type ScenarioResult } from "../../scripts/bench/report.ts";
import type { Scenario } from "../../scripts/bench/scenarios.ts";

const scenario = (concurrency: number, bodyBytes = 4096): Scenario => ({
  name: `c${concurrency}`,
  proto: "h1",
  concurrency,
  bodyBytes,
  persist: true,
  requests: 100,
  rounds: 1,
  shape: { deltas: 20, intervalMs: 1, deltaChars: 12 },
});

/** A scenario whose arms have the given time to first token (ms, all samples alike) and requests per second. */
function result(s: Scenario, direct: [number, number], through: [number, number], third?: [number, number], thirdRssMb?: number): ScenarioResult {
  const figures = ([ttft, perSec]: [number, number]) => arm(perSec, 0, 1000, [ttft], [ttft]);
  const d = figures(direct);
  const t = figures(through);
  return {
    scenario: s,
    direct: d,
    through: t,
    ...(third ? { compare: figures(third) } : {}),
    ...(thirdRssMb !== undefined ? { compareProcess: { peakRssMb: thirdRssMb, cpuSecPer1k: 0 } } : {}),
    addedTtftP50: t.ttftP50 - d.ttftP50,
    addedTtftP99: t.ttftP99 - d.ttftP99,
    throughputRatio: t.reqPerSec / d.reqPerSec,
    streamTimeRatio: 1,
    ccpPeakRssMb: 90,
    ccpCpuSecPer1k: 1,
    othersCpuSecPer1k: { direct: 1, through: 1 },
    upstreamConnectionsPer1k: { direct: 0, through: 0 },
    errors: [],
  };
}

/** A run of the scenario matrix alone (--no-extras). */
const NO_PHASES = { soak: undefined, slow: [], stalled: [], disconnect: [] } as const;
/** A report with nothing measured but what `parts` gives. */
const reportOf = (parts: Partial<Report>): Report => ({
  when: "",
  command: "",
  machine: { cpus: 2, bun: "", node: "", kernel: "" },
  ccp: "",
  notes: [],
  scenarios: [],
  ...NO_PHASES,
  usageLog: { records: 0, retried: 0, non200: 0, failures: {} },
  targets: [],
  errorCount: 0,
  ...parts,
});

const named = (ts: ReturnType<typeof targets>, start: string) => ts.find((t) => t.name.startsWith(start))!;

describe("benchmark targets (pure)", () => {
  test("without a third arm, a target carries ccp's worst value and no third reading", () => {
    const ts = targets({ scenarios: [result(scenario(50), [10, 1000], [25, 850]), result(scenario(50), [10, 1000], [15, 950])], ...NO_PHASES });
    const p99 = named(ts, "added ttft p99 ≤ 10 ms at c=50");
    expect(p99).toMatchObject({ value: "15.00 ms", pass: false });
    expect(p99.third).toBeUndefined();
    expect(named(ts, "throughput")).toMatchObject({ value: "0.85×", pass: false });
  });

  test("with a third arm, each scenario target reads the same measure for it, worst over the scenarios", () => {
    const ts = targets({
      scenarios: [result(scenario(50), [10, 1000], [25, 850], [30, 870], 60), result(scenario(200), [10, 1000], [12, 950], [11, 990], 70)],
      ...NO_PHASES,
    });
    expect(named(ts, "added ttft p99 ≤ 10 ms at c=50")).toMatchObject({ value: "15.00 ms", pass: false, third: { value: "20.00 ms", pass: false } });
    expect(named(ts, "throughput")).toMatchObject({ value: "0.85×", pass: false, third: { value: "0.87×", pass: false } });
    expect(named(ts, "peak RSS")).toMatchObject({ value: "90.00 MB", pass: true, third: { value: "70.00 MB", pass: true } });
  });

  test("a measure the third arm lacks in any scenario (RSS of a --compare URL) gets no third reading", () => {
    const ts = targets({ scenarios: [result(scenario(200), [10, 1000], [12, 950], [11, 990])], ...NO_PHASES });
    expect(named(ts, "throughput").third).toMatchObject({ value: "0.99×", pass: true });
    expect(named(ts, "peak RSS").third).toBeUndefined();
  });

  test("the rendered targets say when the floor fails a target too", () => {
    const scenarios = [result(scenario(1, 1024 * 1024), [5, 100], [9, 100], [8.5, 100], 40)];
    const report = reportOf({ scenarios, targets: targets({ scenarios, ...NO_PHASES }) });
    expect(render(report)).toContain("FAIL  1 MB body adds ≤ 3 ms p50 (c=1) (worst of 1): 4.00 ms  [third arm: 3.50 ms FAIL]");
  });

  test("stalled readers pass only when the upstream stopped sending", () => {
    const stall = (sentPerStreamMb: number, lastSecondKb: number, peakRssMb = 85) => ({
      proto: "h1",
      clients: 10,
      stallSeconds: 4,
      sentPerStreamMb,
      lastSecondKb,
      rssAtStallMb: 80,
      peakRssMb,
      errors: [],
    });
    // Held back; still flowing at the end; stopped only after far more than buffers hold; held back with RSS up (not judged).
    const ts = targets({ ...NO_PHASES, scenarios: [], stalled: [stall(9, 0), stall(9, 4096), stall(49, 0), stall(12, 0, 140)] });
    expect(ts.map((t) => t.pass)).toEqual([true, false, false, true]);
    expect(ts[0]!.value).toBe("9.0 MB per stream, 0 KB; RSS 80.0 → 85.0 MB");
  });

  test("ccp statusline is judged by its p95 against 100 ms; the figures and the line are rendered", () => {
    const line = (p95Ms: number) => ({ command: "dist/ccp statusline --port N", runs: 20, p50Ms: 40, p95Ms, maxMs: p95Ms + 30, line: "ccp h2 ✓ no reading yet" });
    const judge = (p95Ms: number) => targets({ ...NO_PHASES, scenarios: [], statusline: line(p95Ms) });
    expect(judge(99.9).map((t) => t.pass)).toEqual([true]);
    expect(judge(100).map((t) => t.pass)).toEqual([true]);
    expect(judge(100.1).map((t) => t.pass)).toEqual([false]);
    const t = judge(75)[0]!;
    expect(t.name).toBe("ccp statusline returns within 100 ms (p95 of 20 runs of dist/ccp statusline --port N, Claude Code's stdin, against the running ccp)");
    expect(t.value).toBe("p50 40.0 ms, p95 75.0 ms, max 105.0 ms");
    expect(targets({ ...NO_PHASES, scenarios: [] })).toEqual([]);
    const report = reportOf({ statusline: line(75), targets: judge(75) });
    const text = render(report);
    expect(text).toContain("statusline: 20 runs of dist/ccp statusline --port N: p50 40.0 ms, p95 75.0 ms, max 105.0 ms → ccp h2 ✓ no reading yet");
    expect(text).toContain("  PASS  ccp statusline returns within 100 ms");
  });

  test("the soak is judged only at the full run's length: a quick soak's growth is shown as INFO", () => {
    const soak = (requests: number, growthPct: number) => ({
      requests,
      rssMb: { start: 80, middle: 85, end: 80 * (1 + growthPct / 100) },
      series: [],
      growthPct,
      errors: [],
    });
    const judge = (requests: number, growthPct: number) => targets({ ...NO_PHASES, scenarios: [], soak: soak(requests, growthPct) })[0]!;
    expect(judge(20_000, 8).pass).toBe(true);
    expect(judge(20_000, 12).pass).toBe(false);
    const quick = judge(2_500, 12);
    expect(quick.pass).toBeUndefined();
    expect(quick.name).toBe("soak: RSS growth after warm-up (2500 requests; judged from 20000, the full run)");
    const report = reportOf({ targets: [quick] });
    expect(render(report)).toContain("  INFO  soak: RSS growth after warm-up (2500 requests; judged from 20000, the full run): 12.0 %");
  });
});
