/**
 * `bun run bench [--quick] [--floor [relay] | --compare URL] [--only TEXT] [--no-build] [--ccp FILE] [--ccp-env K=V]... [--out FILE]`
 *
 * Starts a fast fake Anthropic upstream (TLS, h2 + http/1.1), the compiled ccp, and a load
 * generator, each in its own process, and runs the same workload direct to the upstream and
 * through ccp, interleaved, per scenario. Prints a table and the targets, writes JSON
 * (bench-results/latest.json). Exit 1 on any error; the targets only inform.
 * --floor adds a third arm through a bare Bun passthrough proxy (floor.ts): the cost of one
 * extra Bun hop by itself, measured in the same run. --floor relay makes that arm a raw-socket
 * byte relay instead (relay.ts): the least any proxy on Bun can cost. Each target line then
 * gives the third arm's figure for the same measure too.
 * --only TEXT runs the scenarios whose name contains TEXT, or one of the phases after the
 * matrix: soak, slow readers, stalled readers, disconnects, statusline (`ccp statusline` as
 * Claude Code runs it against the running ccp; target: p95 within 100 ms).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import type { DisconnectJob, JobResult, SlowJob, StallJob, StreamJob } from "./loadgen.ts";
import { ccpConfig, type FloorKind, makeCert, startCcp, startFloor, startLoadGen, startUpstream, stopAll, stopProcess, type Ccp, type Cert, type LoadGen, type Upstream } from "./processes.ts";
import { cpuSeconds, memory, rssSampler } from "./proc-stats.ts";
import { arm, percentile, render, targets, type DisconnectResult, type Report, type ScenarioResult, type SlowResult, type SoakResult, type StallResult, type StatuslineResult } from "./report.ts";
import { FAST, fullPlan, quickPlan, type Plan, type Proto, type Scenario } from "./scenarios.ts";
import { timeStatusline } from "./statusline-time.ts";
import { streamBytes } from "./workload.ts";

const ROOT = join(import.meta.dir, "..", "..");

const FLOOR_NOTE: Record<FloorKind, string> = {
  serve: "a bare Bun passthrough proxy (scripts/bench/floor.ts: Bun.serve in front of fetch)",
  relay: "a raw-socket byte relay (scripts/bench/relay.ts: Bun.listen in front of Bun.connect, bytes passed as they are)",
};

interface Options {
  readonly quick: boolean;
  readonly compare: string | undefined;
  readonly compareModel: string | undefined;
  readonly only: string | undefined;
  readonly build: boolean;
  readonly ccp: string | undefined;
  readonly out: string;
  readonly skipExtras: boolean;
  readonly floor: FloorKind | undefined;
  /** extra environment for ccp (--ccp-env K=V, repeatable): A/B runs of runtime settings */
  readonly ccpEnv: Readonly<Record<string, string>>;
}

function parseArgs(argv: readonly string[]): Options {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const known = new Set(["--quick", "--compare", "--compare-model", "--only", "--no-build", "--ccp", "--out", "--no-extras", "--floor", "--ccp-env", "--help"]);
  for (const a of argv) {
    if (a.startsWith("--") && !known.has(a)) throw new Error(`unknown option ${a} (options: ${[...known].join(" ")})`);
  }
  // --floor alone is the serve floor; a word after it chooses.
  const floorWord = argv.includes("--floor") ? value("--floor")?.replace(/^--.*/, "") || "serve" : undefined;
  if (floorWord !== undefined && floorWord !== "serve" && floorWord !== "relay") throw new Error(`--floor takes serve (the default) or relay, not ${floorWord}`);
  const floor: FloorKind | undefined = floorWord;
  if (argv.includes("--help")) {
    console.log(readFileSync(import.meta.path, "utf8").split("*/")[0]);
    process.exit(0);
  }
  return {
    quick: argv.includes("--quick"),
    compare: value("--compare")?.replace(/\/$/, ""),
    compareModel: value("--compare-model"),
    only: value("--only"),
    build: !argv.includes("--no-build"),
    ccp: value("--ccp"),
    out: value("--out") ?? join(ROOT, "bench-results", "latest.json"),
    skipExtras: argv.includes("--no-extras"),
    floor,
    ccpEnv: Object.fromEntries(
      argv.flatMap((a, i) => {
        if (argv[i - 1] !== "--ccp-env") return [];
        const eq = a.indexOf("=");
        if (eq < 1) throw new Error(`--ccp-env takes NAME=VALUE, not ${a}`);
        return [[a.slice(0, eq), a.slice(eq + 1)]];
      }),
    ),
  };
}

const modelFor = (proto: Proto) => (proto === "h1" ? "bench-h1" : "bench-h2");

/** Builds dist/ccp with the project's build script and runs a private copy (tests rebuild dist/ccp too). */
async function ccpBinary(o: Options, dir: string): Promise<string> {
  if (o.ccp) return o.ccp;
  if (o.build) {
    const p = Bun.spawn([process.execPath, join(ROOT, "scripts", "build.ts")], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
    if ((await p.exited) !== 0) throw new Error("building dist/ccp failed");
  }
  const copy = join(dir, "ccp");
  copyFileSync(join(ROOT, "dist", "ccp"), copy);
  return copy;
}

interface Ctx {
  readonly o: Options;
  readonly cert: Cert;
  readonly upstream: Upstream;
  readonly gen: LoadGen;
  readonly errors: string[];
  /** the third arm's process when it runs here (--floor): its RSS and CPU are measured like ccp's */
  readonly thirdPid?: number;
}

/**
 * The arms of a scenario. direct: the client straight to the upstream, speaking HTTP/1.1 as
 * Claude Code does (its CLI, offered h2 and http/1.1 by ALPN, picks http/1.1); through: the same
 * client via ccp, whose lane speaks the scenario's protocol upstream; direct-h2 (h2 scenarios):
 * a client that speaks HTTP/2 itself, for reference; compare: --floor or --compare.
 */
type ArmName = "direct" | "through" | "direct-h2" | "compare";

function streamJob(ctx: Ctx, s: Scenario, target: ArmName, ccp: Ccp, requests: number): Omit<StreamJob, "id"> {
  const base = { kind: "stream" as const, concurrency: s.concurrency, requests, bodyBytes: s.bodyBytes, shape: s.shape };
  if (target === "direct" || target === "direct-h2") return { ...base, url: ctx.upstream.url, ca: ctx.cert.pem, h2: target === "direct-h2", model: modelFor(s.proto), exact: true };
  if (target === "through") return { ...base, url: ccp.url, h2: false, model: modelFor(s.proto), exact: true };
  return { ...base, url: ctx.o.compare!, h2: false, model: ctx.o.compareModel ?? modelFor(s.proto), exact: false };
}

const others = (ctx: Ctx) => cpuSeconds(ctx.upstream.proc.pid) + cpuSeconds(ctx.gen.pid);

async function runScenario(ctx: Ctx, s: Scenario, ccp: Ccp): Promise<ScenarioResult> {
  const arms: readonly ArmName[] = ["direct", "through", ...(s.proto === "h2" && !ctx.o.quick ? (["direct-h2"] as const) : []), ...(ctx.o.compare ? (["compare"] as const) : [])];
  // Warm-up: connections, pools, JIT. Not measured.
  const warm = Math.max(100, s.concurrency * 2);
  for (const a of arms) await ctx.gen.run(streamJob(ctx, s, a, ccp, warm));
  const acc = Object.fromEntries(arms.map((a) => [a, { results: [] as JobResult[], othersCpu: 0, connections: 0 }])) as Record<
    ArmName,
    { results: JobResult[]; othersCpu: number; connections: number }
  >;
  let ccpCpu = 0;
  let peak = 0;
  let thirdCpu = 0;
  let thirdPeak = 0;
  for (let round = 0; round < s.rounds; round++) {
    // direct, through, through, direct, ...: neither arm always goes first.
    const order = round % 2 === 0 ? arms : [...arms].reverse();
    for (const a of order) {
      const job = streamJob(ctx, s, a, ccp, s.requests);
      const o0 = others(ctx);
      const n0 = (await ctx.upstream.stats()).connections;
      const c0 = cpuSeconds(ccp.proc.pid);
      const pid = a === "through" ? ccp.proc.pid : a === "compare" ? ctx.thirdPid : undefined;
      const p0 = pid === undefined ? 0 : cpuSeconds(pid);
      const sampler = pid === undefined ? undefined : rssSampler(pid);
      const r = await ctx.gen.run(job);
      const rss = sampler?.stop() ?? 0;
      if (a === "through") {
        peak = Math.max(peak, rss);
        ccpCpu += cpuSeconds(ccp.proc.pid) - c0;
      } else if (pid !== undefined) {
        thirdPeak = Math.max(thirdPeak, rss);
        thirdCpu += cpuSeconds(pid) - p0;
      }
      acc[a].othersCpu += others(ctx) - o0;
      acc[a].connections += (await ctx.upstream.stats()).connections - n0;
      acc[a].results.push(r);
      for (const e of r.errors) ctx.errors.push(`${s.name} ${a}: ${e}`);
    }
  }
  const fig = (a: ArmName) => {
    const rs = acc[a].results;
    return arm(
      rs.reduce((n, r) => n + r.count, 0),
      rs.reduce((n, r) => n + r.errorCount, 0),
      rs.reduce((n, r) => n + r.wallMs, 0),
      rs.flatMap((r) => r.ttftMs),
      rs.flatMap((r) => r.totalMs),
    );
  };
  const direct = fig("direct");
  const through = fig("through");
  const compare = ctx.o.compare ? fig("compare") : undefined;
  const directH2 = arms.includes("direct-h2") ? fig("direct-h2") : undefined;
  const per1k = (cpu: number, n: number) => (n > 0 ? (cpu / n) * 1000 : NaN);
  const result: ScenarioResult = {
    scenario: s,
    direct,
    through,
    ...(compare ? { compare } : {}),
    ...(directH2 ? { directH2 } : {}),
    ...(compare && ctx.thirdPid !== undefined ? { compareProcess: { peakRssMb: thirdPeak, cpuSecPer1k: per1k(thirdCpu, compare.requests + compare.errors) } } : {}),
    addedTtftP50: through.ttftP50 - direct.ttftP50,
    addedTtftP99: through.ttftP99 - direct.ttftP99,
    throughputRatio: through.reqPerSec / direct.reqPerSec,
    streamTimeRatio: through.totalP50 / direct.totalP50,
    ccpPeakRssMb: peak,
    ccpCpuSecPer1k: per1k(ccpCpu, through.requests + through.errors),
    othersCpuSecPer1k: { direct: per1k(acc.direct.othersCpu, direct.requests), through: per1k(acc.through.othersCpu, through.requests) },
    upstreamConnectionsPer1k: { direct: per1k(acc.direct.connections, direct.requests), through: per1k(acc.through.connections, through.requests) },
    errors: ctx.errors.filter((e) => e.startsWith(s.name)),
  };
  const x = result;
  console.error(
    `  ${s.name}: +ttft p50 ${x.addedTtftP50.toFixed(2)} p99 ${x.addedTtftP99.toFixed(2)} ms, thr ${x.throughputRatio.toFixed(2)}, RSS ` +
      `${x.ccpPeakRssMb.toFixed(0)} MB, CPU ${x.ccpCpuSecPer1k.toFixed(2)} s/1k, errors ${direct.errors + through.errors}`,
  );
  return result;
}

async function soak(ctx: Ctx, plan: Plan["soak"], ccp: Ccp): Promise<SoakResult> {
  const job = (proto: Proto, requests: number): Omit<StreamJob, "id"> => ({
    kind: "stream",
    url: ccp.url,
    h2: false,
    model: modelFor(proto),
    concurrency: plan.concurrency,
    requests,
    bodyBytes: 4096,
    shape: plan.shape,
    exact: true,
  });
  const errors: string[] = [];
  const check = (r: JobResult) => {
    for (const e of r.errors) errors.push(`soak: ${e}`);
  };
  for (let done = 0, i = 0; done < plan.warmup; done += plan.batch, i++) check(await ctx.gen.run(job(i % 2 ? "h1" : "h2", plan.batch)));
  const series = [memory(ccp.proc.pid).rssMb];
  const batches = Math.ceil(plan.requests / plan.batch);
  for (let i = 0; i < batches; i++) {
    check(await ctx.gen.run(job(i % 2 ? "h1" : "h2", plan.batch)));
    series.push(memory(ccp.proc.pid).rssMb);
  }
  const start = series[0]!;
  const end = series.at(-1)!;
  ctx.errors.push(...errors);
  console.error(`  soak: RSS ${series.map((m) => m.toFixed(0)).join(" ")} MB`);
  return {
    requests: batches * plan.batch,
    rssMb: { start, middle: series[Math.floor(series.length / 2)]!, end },
    series,
    growthPct: ((end - start) / start) * 100,
    errors,
  };
}

async function slowReaders(ctx: Ctx, plan: Plan["slow"], ccp: Ccp, proto: Proto): Promise<SlowResult> {
  const baseline = memory(ccp.proc.pid).rssMb;
  const sampler = rssSampler(ccp.proc.pid);
  const job: Omit<SlowJob, "id"> = {
    kind: "slow",
    port: ccp.port,
    clients: plan.clients,
    model: modelFor(proto),
    shape: plan.shape,
    readChunk: plan.readChunk,
    pauseMs: plan.pauseMs,
  };
  const r = await ctx.gen.run(job);
  const peak = sampler.stop();
  const errors = r.errors.map((e) => `slow ${proto}: ${e}`);
  ctx.errors.push(...errors);
  if (r.errorCount > errors.length) ctx.errors.push(`slow ${proto}: ${r.errorCount - errors.length} more errors`);
  const streamMb = streamBytes(modelFor(proto), plan.shape) / 1024 / 1024;
  console.error(`  slow readers ${proto}: RSS ${baseline.toFixed(0)} → ${peak.toFixed(0)} MB in ${(r.wallMs / 1000).toFixed(1)} s`);
  return { proto, clients: plan.clients, streamMb, baselineRssMb: baseline, peakRssMb: peak, seconds: r.wallMs / 1000, errors };
}

/** The upstream's stats once no stream is open at it, or when `ms` have passed. */
async function upstreamIdle(ctx: Ctx, ms: number): ReturnType<Upstream["stats"]> {
  let stats = await ctx.upstream.stats();
  for (const until = Date.now() + ms; stats.active > 0 && Date.now() < until; stats = await ctx.upstream.stats()) await Bun.sleep(10);
  return stats;
}

/** Waits (bounded) until no stream is open at the upstream, so a phase does not count the last one's streams. */
async function quietUpstream(ctx: Ctx): Promise<void> {
  await upstreamIdle(ctx, 5_000);
  await ctx.upstream.reset();
}

/**
 * Clients stop reading an endless stream after its first delta. What the upstream sends after
 * that fills the kernel's socket buffers, then ccp's queue, and must then stop: ccp holds a
 * bounded amount per stream and pauses the upstream, however long the client waits.
 */
async function stalledReaders(ctx: Ctx, plan: Plan["stall"], ccp: Ccp, proto: Proto): Promise<StallResult> {
  await quietUpstream(ctx);
  const job: Omit<StallJob, "id"> = { kind: "stall", port: ccp.port, clients: plan.clients, model: modelFor(proto), shape: plan.shape, stallMs: plan.stallMs };
  const samples: { at: number; sent: number; rssMb: number }[] = [];
  let running = true;
  const watch = (async () => {
    while (running) {
      const { sentBytes } = await ctx.upstream.stats();
      samples.push({ at: Date.now(), sent: sentBytes, rssMb: memory(ccp.proc.pid).rssMb });
      await Bun.sleep(100);
    }
  })();
  const r = await ctx.gen.run(job);
  running = false;
  await watch;
  const errors = r.errors.map((e) => `stall ${proto}: ${e}`);
  const { from, to } = r.stall ?? { from: 0, to: 0 };
  /** The last sample taken at or before `t`. */
  const at = (t: number) => samples.filter((x) => x.at <= t).at(-1) ?? samples[0]!;
  const during = samples.filter((x) => x.at >= from && x.at <= to);
  const mb = (bytes: number) => bytes / 1024 / 1024;
  // The streams must be cancelled once the clients leave (they would otherwise run for 400 MB).
  const stats = await upstreamIdle(ctx, 3_000);
  if (stats.active > 0) errors.push(`stall ${proto}: ${stats.active} upstream streams still open 3 s after the clients left`);
  ctx.errors.push(...errors);
  const result: StallResult = {
    proto,
    clients: plan.clients,
    stallSeconds: (to - from) / 1000,
    sentPerStreamMb: mb(at(to).sent) / plan.clients,
    lastSecondKb: (at(to).sent - at(to - 1000).sent) / 1024,
    rssAtStallMb: at(from).rssMb,
    peakRssMb: Math.max(...during.map((x) => x.rssMb), at(from).rssMb),
    errors,
  };
  console.error(
    `  stalled readers ${proto}: ${plan.clients} clients, upstream sent ${result.sentPerStreamMb.toFixed(1)} MB per stream, ` +
      `${result.lastSecondKb.toFixed(0)} KB in the stall's last second; RSS ${result.rssAtStallMb.toFixed(0)} → ${result.peakRssMb.toFixed(0)} MB`,
  );
  return result;
}

async function disconnects(ctx: Ctx, plan: Plan["disconnect"], ccp: Ccp, proto: Proto): Promise<DisconnectResult> {
  await quietUpstream(ctx);
  const job: Omit<DisconnectJob, "id"> = {
    kind: "disconnect",
    port: ccp.port,
    clients: plan.clients,
    model: modelFor(proto),
    shape: plan.shape,
    afterDeltas: plan.afterDeltas,
  };
  const r = await ctx.gen.run(job);
  const left = r.lastDisconnectAt ?? Date.now();
  // Bounded wait: the streams would end on their own after deltas × interval (3 s); cancellation must come well before.
  const stats = await upstreamIdle(ctx, 3_000);
  const cancelMs = stats.active === 0 ? Math.max(0, Date.now() - left) : -1;
  const errors = r.errors.map((e) => `disconnect ${proto}: ${e}`);
  if (stats.active > 0) errors.push(`disconnect ${proto}: ${stats.active} upstream streams still open 3 s after the clients left`);
  ctx.errors.push(...errors);
  console.error(`  disconnects ${proto}: ${r.count} left, upstream aborted ${stats.aborted} completed ${stats.completed}, closed after ${cancelMs} ms`);
  return {
    proto,
    clients: plan.clients,
    disconnected: r.count,
    upstreamAborted: stats.aborted,
    upstreamCompleted: stats.completed,
    cancelMs,
    rssAfterMb: memory(ccp.proc.pid).rssMb,
    errors,
  };
}

/**
 * `ccp statusline` as Claude Code runs it (a new process, its stdin JSON) against a ccp that has
 * served a few streams, timed from spawn to exit. The line must be one ccp gives a running,
 * routed instance: a "ccp: off" would time the wrong thing.
 */
async function statusline(ctx: Ctx, plan: Plan["statusline"], bin: string, ccp: Ccp): Promise<StatuslineResult> {
  const warm: Omit<StreamJob, "id"> = { kind: "stream", url: ccp.url, h2: false, model: modelFor("h2"), concurrency: 1, requests: 5, bodyBytes: 4096, shape: FAST, exact: true };
  for (const e of (await ctx.gen.run(warm)).errors) ctx.errors.push(`statusline: ${e}`);
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: ccp.home, CCP_HOME: join(ccp.home, "state"), NO_COLOR: "1" };
  const { times, line } = await timeStatusline([bin], ccp.port, plan.runs, env);
  if (!/^ccp h2 /.test(line)) ctx.errors.push(`statusline: unexpected line ${JSON.stringify(line)}`);
  const x: StatuslineResult = {
    command: `${bin.endsWith("/ccp") ? "dist/ccp" : bin} statusline --port N`,
    runs: plan.runs,
    p50Ms: percentile(times, 50),
    p95Ms: percentile(times, 95),
    maxMs: Math.max(...times),
    line,
  };
  console.error(`  statusline: p50 ${x.p50Ms.toFixed(1)} p95 ${x.p95Ms.toFixed(1)} max ${x.maxMs.toFixed(1)} ms → ${line}`);
  return x;
}

/** ccp's own record of the streaming scenarios: nothing may have been retried or answered other than 200. */
function usageLog(ccp: Ccp): { records: number; retried: number; non200: number; failures: Record<string, number> } {
  let text = "";
  try {
    text = readFileSync(join(ccp.home, "state", "logs", "default", "usage.jsonl"), "utf8");
  } catch {
    return { records: 0, retried: 0, non200: 0, failures: {} };
  }
  const recs = text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { retries: number; status: number; failure_class: string | null });
  const failures: Record<string, number> = {};
  for (const r of recs) if (r.failure_class) failures[r.failure_class] = (failures[r.failure_class] ?? 0) + 1;
  return { records: recs.length, retried: recs.filter((r) => r.retries > 0).length, non200: recs.filter((r) => r.status !== 200).length, failures };
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const plan = o.quick ? quickPlan() : fullPlan();
  const scenarios = plan.scenarios.filter((s) => !o.only || s.name.includes(o.only));
  const t0 = performance.now();
  const dir = mkdtempSync(join(os.tmpdir(), "ccp-bench-"));
  const notes = [
    "direct = load generator → upstream over TLS with HTTP/1.1, as Claude Code connects (its CLI picks http/1.1 when the upstream offers h2 " +
      "too); through = the same client → ccp over plain HTTP/1.1 on loopback → upstream over TLS with the lane's protocol (h1 or h2). The " +
      "through arm skips the client's TLS and adds a hop; the difference is ccp's cost plus one loopback hop.",
    "h2 scenarios (not with --quick) also run direct-h2, a client that speaks HTTP/2 to the upstream itself (one multiplexed connection): a " +
      "reference no Claude Code setup reaches directly, shown in its own table.",
    "all processes (upstream under Node.js, ccp, load generator under Bun) share the machine's cores; throughput at c=50/200 is bounded by CPU, so its ratio reflects ccp's CPU per request.",
    "added ttft = through percentile − direct percentile over all interleaved rounds; ttft is measured at the first content_block_delta byte at the client.",
  ];
  const ctx0 = { o, errors: [] as string[] };
  let report: Report | undefined;
  try {
    const cert = makeCert(dir);
    const bin = await ccpBinary(o, dir);
    const upstream = await startUpstream(dir, cert);
    const gen = startLoadGen(dir);
    if (o.floor && o.compare) throw new Error("--floor and --compare both name the third arm: choose one");
    const floor = o.floor ? await startFloor(dir, upstream.url, cert, o.floor) : undefined;
    const third = floor ? { ...o, compare: floor.url } : o;
    if (floor) notes.push(`compare = the floor: ${FLOOR_NOTE[o.floor!]} (${floor.url}), HTTP/1.1 to the upstream, no ccp logic; its RSS and CPU are measured like ccp's`);
    const ctx: Ctx = { ...ctx0, o: third, cert, upstream, gen, ...(floor ? { thirdPid: floor.pid } : {}) };
    const results: ScenarioResult[] = [];
    const usage = { records: 0, retried: 0, non200: 0, failures: {} as Record<string, number> };
    const addUsage = (u: typeof usage) => {
      usage.records += u.records;
      usage.retried += u.retried;
      usage.non200 += u.non200;
      for (const [k, n] of Object.entries(u.failures)) usage.failures[k] = (usage.failures[k] ?? 0) + n;
    };
    let soakResult: SoakResult | undefined;
    const slow: SlowResult[] = [];
    const stalled: StallResult[] = [];
    const disc: DisconnectResult[] = [];
    const fresh = async (name: string, persist: boolean) => {
      const home = join(dir, name);
      mkdirSync(home, { recursive: true });
      const ccp = await startCcp(bin, home, ccpConfig(upstream.url, cert.certFile, persist), o.ccpEnv);
      console.error(`ccp pid ${ccp.proc.pid} on ${ccp.url} (${name}); upstream ${upstream.url}`);
      return ccp;
    };
    for (const persist of [true, false]) {
      const group = scenarios.filter((s) => s.persist === persist);
      if (group.length === 0) continue;
      const ccp = await fresh(persist ? "persist" : "no-persist", persist);
      for (const s of group) results.push(await runScenario(ctx, s, ccp));
      addUsage(usageLog(ccp));
      await stopProcess(ccp.proc);
    }
    // The phases after the matrix run unless --no-extras; --only picks them by name too ("soak", "slow readers", "stalled readers", "disconnects", "statusline").
    const extra = (name: string) => !o.skipExtras && (!o.only || name.includes(o.only));
    if (extra("soak")) {
      // Each on a fresh ccp (persistence on, the default), so earlier scenarios' memory does not blur them.
      const soaked = await fresh("soak", true);
      soakResult = await soak(ctx, plan.soak, soaked);
      addUsage(usageLog(soaked));
      await stopProcess(soaked.proc);
    }
    if (extra("slow readers") || extra("stalled readers") || extra("disconnects")) {
      const robust = await fresh("robustness", true);
      if (extra("slow readers")) for (const proto of ["h1", "h2"] as const) slow.push(await slowReaders(ctx, plan.slow, robust, proto));
      if (extra("stalled readers")) for (const proto of ["h1", "h2"] as const) stalled.push(await stalledReaders(ctx, plan.stall, robust, proto));
      if (extra("disconnects")) for (const proto of ["h1", "h2"] as const) disc.push(await disconnects(ctx, plan.disconnect, robust, proto));
      await stopProcess(robust.proc);
    }
    let line: StatuslineResult | undefined;
    if (extra("statusline")) {
      const lit = await fresh("statusline", false);
      line = await statusline(ctx, plan.statusline, bin, lit);
      await stopProcess(lit.proc);
    }
    const failed = Object.values(usage.failures).reduce((a, b) => a + b, 0);
    if (usage.retried > 0 || usage.non200 > 0 || failed > 0) {
      ctx.errors.push(`ccp's usage log: ${usage.retried} retried, ${usage.non200} not 200, failure classes ${JSON.stringify(usage.failures)} in the streaming scenarios`);
    }
    const partial = { scenarios: results, soak: soakResult, slow, stalled, disconnect: disc, statusline: line };
    report = {
      when: new Date().toISOString(),
      command: `bun run bench ${process.argv.slice(2).join(" ")}`.trim(),
      machine: { cpus: os.cpus().length, bun: Bun.version, node: Bun.spawnSync(["node", "--version"]).stdout.toString().trim(), kernel: os.release() },
      ccp: bin,
      notes: [...notes, `${((performance.now() - t0) / 1000).toFixed(0)} s wall`],
      ...partial,
      usageLog: usage,
      targets: targets(partial),
      errorCount: ctx.errors.length,
    };
  } finally {
    await stopAll();
  }
  mkdirSync(join(o.out, ".."), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify({ ...report, errors: ctx0.errors }, null, 2)}\n`);
  console.log(render(report));
  for (const e of ctx0.errors.slice(0, 20)) console.log(`  error: ${e}`);
  console.log(`\nJSON: ${o.out}`);
  if (ctx0.errors.length === 0) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept for inspection: ${dir} (ccp logs and usage.jsonl under persist/ and no-persist/)`);
  return ctx0.errors.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (e: Error) => {
    console.error(`bench failed: ${e.stack ?? e.message}`);
    await stopAll();
    process.exit(1);
  },
);
