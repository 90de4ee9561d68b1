/** Figures, targets and the stdout table of a benchmark run. */
import type { Scenario } from "./scenarios.ts";

/** Nearest-rank percentile of unsorted samples (ms). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface ArmFigures {
  readonly requests: number;
  readonly errors: number;
  readonly reqPerSec: number;
  readonly ttftP50: number;
  readonly ttftP99: number;
  readonly totalP50: number;
  readonly totalP99: number;
}

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly direct: ArmFigures;
  readonly through: ArmFigures;
  readonly compare?: ArmFigures;
  /** h2 scenarios: a client speaking HTTP/2 to the upstream itself (reference, not the baseline) */
  readonly directH2?: ArmFigures;
  /** the third arm's own peak RSS and CPU, when its process runs here (--floor) */
  readonly compareProcess?: { readonly peakRssMb: number; readonly cpuSecPer1k: number };
  readonly addedTtftP50: number;
  readonly addedTtftP99: number;
  readonly throughputRatio: number;
  readonly streamTimeRatio: number;
  /** highest VmRSS sampled while ccp carried this scenario's load */
  readonly ccpPeakRssMb: number;
  readonly ccpCpuSecPer1k: number;
  /** the upstream and load generator's CPU per 1000 requests in each arm: they share the 2 cores with ccp */
  readonly othersCpuSecPer1k: { readonly direct: number; readonly through: number };
  /** TLS connections the upstream accepted per 1000 requests in each arm (connection reuse) */
  readonly upstreamConnectionsPer1k: { readonly direct: number; readonly through: number };
  readonly errors: readonly string[];
}

export interface SoakResult {
  readonly requests: number;
  readonly rssMb: { readonly start: number; readonly middle: number; readonly end: number };
  readonly series: readonly number[];
  readonly growthPct: number;
  readonly errors: readonly string[];
}

export interface SlowResult {
  readonly proto: string;
  readonly clients: number;
  readonly streamMb: number;
  readonly baselineRssMb: number;
  readonly peakRssMb: number;
  readonly seconds: number;
  readonly errors: readonly string[];
}

export interface StallResult {
  readonly proto: string;
  readonly clients: number;
  readonly stallSeconds: number;
  /** what the upstream wrote per stream by the end of the stall (the clients read only the first delta) */
  readonly sentPerStreamMb: number;
  /** what the upstream wrote, all streams together, in the stall's last second: 0 once held back */
  readonly lastSecondKb: number;
  readonly rssAtStallMb: number;
  readonly peakRssMb: number;
  readonly errors: readonly string[];
}

export interface DisconnectResult {
  readonly proto: string;
  readonly clients: number;
  readonly disconnected: number;
  readonly upstreamAborted: number;
  readonly upstreamCompleted: number;
  /** ms from the last client leaving to no stream open at the upstream (-1: not within the wait) */
  readonly cancelMs: number;
  readonly rssAfterMb: number;
  readonly errors: readonly string[];
}

/** `ccp statusline` as Claude Code runs it, against the running ccp (the statusline phase). */
export interface StatuslineResult {
  /** how it was run, e.g. "dist/ccp statusline --port N" */
  readonly command: string;
  readonly runs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  /** the line the last run printed */
  readonly line: string;
}

/** Issue 21: the status line returns within 100 ms on this machine (Claude Code redraws it as the session goes). */
export const STATUSLINE_MAX_MS = 100;

export interface Target {
  readonly name: string;
  readonly value: string;
  /** undefined: shown, not judged (the run was too short for the measure to mean anything). */
  readonly pass: boolean | undefined;
  /**
   * The same measure for the third arm (--floor or --compare) where the run has it: a target
   * the floor fails too is beyond any proxy on this machine and runtime, not ccp's to meet.
   */
  readonly third?: { readonly value: string; readonly pass: boolean };
}

export interface Report {
  readonly when: string;
  readonly command: string;
  readonly machine: { readonly cpus: number; readonly bun: string; readonly node: string; readonly kernel: string };
  readonly ccp: string;
  readonly notes: readonly string[];
  readonly scenarios: readonly ScenarioResult[];
  readonly soak: SoakResult | undefined;
  readonly slow: readonly SlowResult[];
  readonly stalled: readonly StallResult[];
  readonly disconnect: readonly DisconnectResult[];
  readonly statusline?: StatuslineResult | undefined;
  /** ccp's own usage log: requests retried or not answered 200 during the streaming scenarios */
  readonly usageLog: { readonly records: number; readonly retried: number; readonly non200: number; readonly failures: Readonly<Record<string, number>> };
  readonly targets: readonly Target[];
  readonly errorCount: number;
}

const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const signed = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${n.toFixed(2)}` : "-");

/** The soak the issue's target is about; a shorter one (--quick) is too short to judge growth. */
const SOAK_JUDGED_REQUESTS = 20_000;

/** What the upstream may send per stream to a client that reads nothing: kernel buffers and ccp's queue, with room. */
const STALL_MAX_MB = 24;

/** A scenario measure, read for ccp ("through") or for the third arm. */
type Measure = (x: ScenarioResult, arm: "through" | "third") => number | undefined;

const armOf = (x: ScenarioResult, a: "through" | "third"): ArmFigures | undefined => (a === "through" ? x.through : x.compare);
const addedP50: Measure = (x, a) => (armOf(x, a)?.ttftP50 ?? NaN) - x.direct.ttftP50;
const addedP99: Measure = (x, a) => (armOf(x, a)?.ttftP99 ?? NaN) - x.direct.ttftP99;
const throughput: Measure = (x, a) => (armOf(x, a)?.reqPerSec ?? NaN) / x.direct.reqPerSec;
const peakRss: Measure = (x, a) => (a === "through" ? x.ccpPeakRssMb : x.compareProcess?.peakRssMb);

export function targets(r: Pick<Report, "scenarios" | "soak" | "slow" | "stalled" | "disconnect" | "statusline">): Target[] {
  const out: Target[] = [];
  const pick = (pred: (s: Scenario) => boolean) => r.scenarios.filter((x) => pred(x.scenario));
  /** The worst value over the scenarios, or undefined when one of them lacks the measure. */
  const worst = (xs: readonly ScenarioResult[], get: Measure, a: "through" | "third", max: boolean) => {
    const vs = xs.map((x) => get(x, a));
    if (vs.some((v) => v === undefined || Number.isNaN(v))) return undefined;
    return (vs as number[]).reduce((p, q) => (max ? Math.max(p, q) : Math.min(p, q)));
  };
  const add = (name: string, xs: readonly ScenarioResult[], get: Measure, ok: (v: number) => boolean, max = true, unit = " ms") => {
    if (xs.length === 0) return;
    const v = worst(xs, get, "through", max) ?? NaN;
    const t = worst(xs, get, "third", max);
    out.push({
      name: `${name} (worst of ${xs.length})`,
      value: `${f(v)}${unit}`,
      pass: ok(v),
      ...(t === undefined ? {} : { third: { value: `${f(t)}${unit}`, pass: ok(t) } }),
    });
  };
  const small = (s: Scenario) => s.bodyBytes < 1024 * 1024;
  add(
    "added ttft p50 ≤ 1 ms at c=1",
    pick((s) => s.concurrency === 1 && small(s)),
    addedP50,
    (v) => v <= 1,
  );
  add(
    "added ttft p99 ≤ 5 ms at c=1",
    pick((s) => s.concurrency === 1 && small(s)),
    addedP99,
    (v) => v <= 5,
  );
  add(
    "added ttft p99 ≤ 10 ms at c=50",
    pick((s) => s.concurrency === 50 && small(s)),
    addedP99,
    (v) => v <= 10,
  );
  add(
    "throughput ≥ 0.9 of direct at c=50, c=200",
    pick((s) => s.concurrency >= 50 && small(s)),
    throughput,
    (v) => v >= 0.9,
    false,
    "×",
  );
  add(
    "1 MB body adds ≤ 3 ms p50 (c=1)",
    pick((s) => s.concurrency === 1 && !small(s)),
    addedP50,
    (v) => v <= 3,
  );
  add(
    "peak RSS ≤ 100 MB at 200 streams",
    pick((s) => s.concurrency === 200),
    peakRss,
    (v) => v <= 100,
    true,
    " MB",
  );
  if (r.soak) {
    // A short soak (--quick) shows the garbage collector's rhythm more than a leak: shown, not judged.
    const judged = r.soak.requests >= SOAK_JUDGED_REQUESTS;
    out.push({
      name: judged
        ? `soak: RSS growth ≤ 10 % after warm-up (${r.soak.requests} requests)`
        : `soak: RSS growth after warm-up (${r.soak.requests} requests; judged from ${SOAK_JUDGED_REQUESTS}, the full run)`,
      value: `${f(r.soak.growthPct, 1)} %`,
      pass: judged ? r.soak.growthPct <= 10 : undefined,
    });
  }
  // The boundedness of what ccp holds for a client that does not read is the stalled readers' target.
  for (const s of r.slow) {
    out.push({
      name: `slow readers (${s.proto}): peak RSS ≤ 100 MB (${s.clients} × ${f(s.streamMb, 1)} MB)`,
      value: `${f(s.baselineRssMb, 1)} → ${f(s.peakRssMb, 1)} MB`,
      pass: s.peakRssMb <= 100,
    });
  }
  for (const s of r.stalled) {
    // Held back: once the kernel's socket buffers on both hops (about 5-12 MB per stream on loopback
    // here) and ccp's queue (256 KiB) are full, the flow must stop, so what ccp holds for a client
    // that reads nothing is bounded however long it waits. A ccp that stopped pausing its upstream
    // fails both checks (a build that never paused: h1 still 190 MB/s at the end, h2 49 MB per
    // stream). RSS is shown, not judged: it rises while the buffers fill, with the garbage of the
    // megabytes passed on.
    out.push({
      name: `stalled readers (${s.proto}): the upstream is held back (≤ ${STALL_MAX_MB} MB sent per stream, ≤ 64 KB in the last second of a ${f(s.stallSeconds, 0)} s stall; ${s.clients} clients)`,
      value: `${f(s.sentPerStreamMb, 1)} MB per stream, ${f(s.lastSecondKb, 0)} KB; RSS ${f(s.rssAtStallMb, 1)} → ${f(s.peakRssMb, 1)} MB`,
      pass: s.sentPerStreamMb <= STALL_MAX_MB && s.lastSecondKb <= 64,
    });
  }
  for (const d of r.disconnect) {
    const ok = d.upstreamAborted === d.disconnected && d.upstreamCompleted === 0 && d.cancelMs >= 0 && d.cancelMs <= 1000;
    out.push({
      name: `disconnects (${d.proto}): every upstream stream cancelled within 1 s`,
      value: `${d.upstreamAborted}/${d.disconnected} in ${d.cancelMs} ms`,
      pass: ok,
    });
  }
  if (r.statusline) {
    // p95, not p50: most redraws must make it, and a run's slowest few are start-up noise on a busy machine (max is shown).
    const x = r.statusline;
    out.push({
      name: `ccp statusline returns within ${STATUSLINE_MAX_MS} ms (p95 of ${x.runs} runs of ${x.command}, Claude Code's stdin, against the running ccp)`,
      value: `p50 ${f(x.p50Ms, 1)} ms, p95 ${f(x.p95Ms, 1)} ms, max ${f(x.maxMs, 1)} ms`,
      pass: x.p95Ms <= STATUSLINE_MAX_MS,
    });
  }
  return out;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`, ...rows.map(line)].join("\n");
}

/** The scenario table, as Markdown (it goes to stdout and into docs/BENCHMARK.md as is). */
export function scenarioTable(r: Report): string {
  const rows = r.scenarios.map((x) => [
    x.scenario.name,
    String(x.through.requests),
    `${f(x.direct.ttftP50)} / ${f(x.direct.ttftP99)}`,
    signed(x.addedTtftP50),
    signed(x.addedTtftP99),
    `${f(x.direct.reqPerSec, 0)} → ${f(x.through.reqPerSec, 0)}`,
    f(x.throughputRatio),
    f(x.streamTimeRatio),
    f(x.ccpPeakRssMb, 0),
    f(x.ccpCpuSecPer1k),
    `${f(x.upstreamConnectionsPer1k.direct, 0)} / ${f(x.upstreamConnectionsPer1k.through, 0)}`,
    String(x.direct.errors + x.through.errors),
  ]);
  return table(["scenario", "req", "direct ttft p50/p99 ms", "+ttft p50", "+ttft p99", "req/s direct → ccp", "thr ratio", "stream ratio", "RSS MB", "CPU s/1k", "conns/1k d/c", "err"], rows);
}

export function render(r: Report): string {
  const out: string[] = [scenarioTable(r), ""];
  if (r.scenarios.some((x) => x.compare)) {
    out.push(
      table(
        ["scenario (third arm: --floor or --compare)", "ttft p50/p99 ms", "+ttft p50 vs direct", "+ttft p99 vs direct", "req/s", "thr ratio", "RSS MB", "CPU s/1k", "err"],
        r.scenarios
          .filter((x) => x.compare)
          .map((x) => [
            x.scenario.name,
            `${f(x.compare!.ttftP50)} / ${f(x.compare!.ttftP99)}`,
            signed(x.compare!.ttftP50 - x.direct.ttftP50),
            signed(x.compare!.ttftP99 - x.direct.ttftP99),
            f(x.compare!.reqPerSec, 0),
            f(x.compare!.reqPerSec / x.direct.reqPerSec),
            x.compareProcess ? f(x.compareProcess.peakRssMb, 0) : "-",
            x.compareProcess ? f(x.compareProcess.cpuSecPer1k) : "-",
            String(x.compare!.errors),
          ]),
      ),
      "",
    );
  }
  if (r.scenarios.some((x) => x.directH2)) {
    out.push(
      table(
        ["scenario (reference: a client speaking HTTP/2 itself)", "ttft p50/p99 ms", "ccp +ttft p50 vs it", "req/s", "ccp thr ratio vs it", "err"],
        r.scenarios
          .filter((x) => x.directH2)
          .map((x) => [
            x.scenario.name,
            `${f(x.directH2!.ttftP50)} / ${f(x.directH2!.ttftP99)}`,
            signed(x.through.ttftP50 - x.directH2!.ttftP50),
            f(x.directH2!.reqPerSec, 0),
            f(x.through.reqPerSec / x.directH2!.reqPerSec),
            String(x.directH2!.errors),
          ]),
      ),
      "",
    );
  }
  if (r.soak)
    out.push(
      `soak: ${r.soak.requests} requests, ccp RSS start ${f(r.soak.rssMb.start, 1)} MB, middle ${f(r.soak.rssMb.middle, 1)} MB, end ${f(r.soak.rssMb.end, 1)} MB (${signed(r.soak.growthPct)} %)`,
    );
  for (const s of r.slow) out.push(`slow readers ${s.proto}: ${s.clients} clients × ${f(s.streamMb, 1)} MB, RSS ${f(s.baselineRssMb, 1)} → peak ${f(s.peakRssMb, 1)} MB, ${f(s.seconds, 1)} s`);
  for (const s of r.stalled) {
    out.push(
      `stalled readers ${s.proto}: ${s.clients} clients read nothing for ${f(s.stallSeconds, 1)} s; the upstream sent ${f(s.sentPerStreamMb, 1)} ` +
        `MB per stream, ${f(s.lastSecondKb, 0)} KB in the last second; RSS ${f(s.rssAtStallMb, 1)} → ${f(s.peakRssMb, 1)} MB`,
    );
  }
  for (const d of r.disconnect)
    out.push(
      `disconnects ${d.proto}: ${d.disconnected} clients left mid-stream; upstream aborted ${d.upstreamAborted}, completed ${d.upstreamCompleted}, ` +
        `all closed ${d.cancelMs} ms after the last left; RSS ${f(d.rssAfterMb, 1)} MB`,
    );
  if (r.statusline) {
    const x = r.statusline;
    out.push(`statusline: ${x.runs} runs of ${x.command}: p50 ${f(x.p50Ms, 1)} ms, p95 ${f(x.p95Ms, 1)} ms, max ${f(x.maxMs, 1)} ms → ${x.line}`);
  }
  out.push(`ccp usage log: ${r.usageLog.records} records, ${r.usageLog.retried} retried, ${r.usageLog.non200} not 200, failure classes ${JSON.stringify(r.usageLog.failures)} (streaming scenarios)`);
  out.push("", "targets:");
  const verdict = (pass: boolean | undefined) => (pass === undefined ? "INFO" : pass ? "PASS" : "FAIL");
  for (const t of r.targets) out.push(`  ${verdict(t.pass)}  ${t.name}: ${t.value}${t.third ? `  [third arm: ${t.third.value} ${verdict(t.third.pass)}]` : ""}`);
  if (r.targets.some((t) => t.third)) out.push("  [third arm: …] is the same measure for this run's --floor or --compare arm; a target the floor fails too is beyond any proxy on this machine");
  for (const n of r.notes) out.push(`note: ${n}`);
  out.push("", r.errorCount === 0 ? "errors: none" : `ERRORS: ${r.errorCount} (the run fails)`);
  return out.join("\n");
}

export function arm(requests: number, errors: number, wallMs: number, ttft: readonly number[], total: readonly number[]): ArmFigures {
  return {
    requests,
    errors,
    reqPerSec: wallMs > 0 ? (requests / wallMs) * 1000 : NaN,
    ttftP50: percentile(ttft, 50),
    ttftP99: percentile(ttft, 99),
    totalP50: percentile(total, 50),
    totalP99: percentile(total, 99),
  };
}
