import { readEnv } from "../../config/env.ts";
import { fetchStatus } from "../../ops/instance.ts";
import { instanceUrl } from "../../ops/local-http.ts";
import { resolveModel } from "../../ops/probe-models.ts";
import { runCompletions, type Completion, type Via } from "../../ops/probe-run.ts";
import { judge, type ProbeRow } from "../../ops/probe-verdict.ts";
import { ExitError } from "../exit-error.ts";
import { out, spinner, table } from "../render.ts";
import { resolveTarget } from "../target.ts";

export interface ProbeOptions {
  readonly port?: number;
  readonly runs: number;
  readonly model: string;
  readonly also?: string;
  readonly via?: Via;
  readonly maxP50TtftMs: number;
  readonly expectLane?: string;
  readonly expectH2?: boolean;
  /** h1 or h2; --expect-h2 is its older spelling. */
  readonly expectProtocol?: "h1" | "h2";
  readonly prompt: string;
  readonly timeoutMs: number;
  readonly json?: boolean;
}

/** The golden probe: N sequential completions, each matched to its usage line, then a verdict. */
export async function probe(opts: ProbeOptions): Promise<void> {
  const target = await resolveTarget(opts, true);
  const status = await fetchStatus(target.host, target.port);
  if (!status) throw new ExitError(1, `no ccp is running on port ${target.port}`, `start it first: ccp start --port ${target.port}`);
  const env = readEnv();
  const model = resolveModel(opts.model, env.modelOverrides);
  const also = opts.also === undefined ? undefined : resolveModel(opts.also, env.modelOverrides);
  if (also === model) throw new ExitError(2, "--also names the same model as --model", "give --also another model, e.g. --also sonnet");
  const claude = Bun.which("claude", { PATH: env.all.PATH ?? "" }) ?? undefined;
  const via: Via = opts.via ?? (claude ? "claude" : "http");
  if (via === "claude" && !claude) throw new ExitError(2, "--via claude: no claude on PATH", "install Claude Code, or use --via http");

  const t = {
    baseUrl: instanceUrl(target.host, target.port),
    usageLog: status.usage_log,
    prompt: opts.prompt,
    timeoutMs: opts.timeoutMs,
    env: env.all,
    clientKey: env.clientKey,
    clientToken: env.clientToken,
    claude,
  };
  if (!opts.json) console.log(out.dim(`probe: ${opts.runs} run(s) of ${model}${also ? ` with ${also} alongside` : ""} via ${via} on port ${target.port}`));
  const rows: ProbeRow[] = [];
  for (let run = 1; run <= opts.runs; run++) {
    const cs: Completion[] = [{ run, role: "main", model }];
    if (also) cs.push({ run, role: "also", model: also });
    const wait = spinner(`probe run ${run}/${opts.runs}`);
    rows.push(...(await runCompletions(via, t, cs).finally(() => wait.stop())));
  }
  const verdict = judge(rows, { maxP50TtftMs: opts.maxP50TtftMs, expectLane: opts.expectLane, expectProtocol: expectedProtocol(opts) });
  if (opts.json) {
    console.log(JSON.stringify({ via, model, also: also ?? null, port: target.port, runs: rows, verdict }, null, 2));
  } else {
    console.log(renderTable(rows));
    console.log("");
    const p50 = verdict.p50_ttft_ms === null ? "-" : `${verdict.p50_ttft_ms} ms`;
    if (verdict.pass) console.log(`${out.ok("PASS")}  p50 ttft ${p50} (limit ${opts.maxP50TtftMs} ms), every run 200`);
    else {
      console.log(`${out.bad("FAIL")}  p50 ttft ${p50} (limit ${opts.maxP50TtftMs} ms)`);
      for (const r of verdict.reasons) console.log(`  - ${r}`);
    }
  }
  if (!verdict.pass) process.exitCode = 1;
}

/** --expect-protocol, else --expect-h2 (its older spelling: true is h2, false h1). */
export function expectedProtocol(o: Pick<ProbeOptions, "expectProtocol" | "expectH2">): "h1" | "h2" | undefined {
  if (o.expectProtocol) return o.expectProtocol;
  return o.expectH2 === undefined ? undefined : o.expectH2 ? "h2" : "h1";
}

const ms = (v: number | null) => (v === null ? "-" : String(v));

function cells(r: ProbeRow): string[] {
  return [String(r.run), r.model, out.status(r.status), r.lane ?? "-", r.protocol, ms(r.ttft_ms), ms(r.duration_ms), r.error ? out.bad(r.error) : ""];
}

function renderTable(rows: readonly ProbeRow[]): string {
  return table(["run", "model", "status", "lane", "protocol", "ttft ms", "duration ms", "error"], rows.map(cells));
}
