import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readEnv } from "../../config/env.ts";
import { proxyKeyHere } from "../../ops/instance.ts";
import { header, httpRequest, instanceUrl } from "../../ops/local-http.ts";
import { instancePaths } from "../../ops/paths.ts";
import { describeCredentials, parseCapture, planReplay, sideOf, type Captured, type ReplayPlan, type Side } from "../../ops/replay.ts";
import type { UsageLine } from "../../ops/usage-filter.ts";
import { tailAcrossRotations } from "../../ops/usage-log.ts";
import { PROXY_KEY_HEADER } from "../../server/access.ts";
import { REPLAY_KEY_HEADER, REPLAY_LANE_HEADER, REPLAY_OF_HEADER, REPLAY_TRANSPORT_HEADER, RID } from "../../server/replay-control.ts";
import { readReplayKey } from "../../server/replay-key-file.ts";
import { isError } from "../../usage/outcome.ts";
import { ExitError } from "../exit-error.ts";
import { out, table } from "../render.ts";
import { resolveTarget, type Target } from "../target.ts";
import { usageSource, type UsageSource } from "../usage-source.ts";
import { reportNotRunning } from "./status.ts";

export interface ReplayCommandOptions {
  readonly port?: number | undefined;
  readonly lane?: string | undefined;
  readonly transport?: "h1" | "h2" | "auto" | undefined;
  readonly apiKeyEnv?: string | undefined;
  readonly json?: boolean | undefined;
  /** Give up on the replay's answer after this long (default 10 minutes). */
  readonly timeoutMs?: number | undefined;
}

export interface ReplayResult {
  readonly replay_of: string;
  readonly lane: string;
  readonly transport: string;
  readonly credentials: string;
  readonly then: Side;
  readonly now: Side;
  /** The answer's text is the same then and now (null: either side's is unknown, or the capture holds only part of it). */
  readonly same_answer: boolean | null;
}

/** The capture of `rid`: the path its usage line names, else the capture directory's file for it. */
function findCapture(rid: string, source: UsageSource, target: Target): Captured {
  const line = tailAcrossRotations(source.log, 1, (r) => r.rid === rid)[0]?.record;
  const dir = target.config?.captureDir ?? join(source.home, "captures");
  const path = line?.capture ?? join(dir, `${rid}.json`);
  if (!existsSync(path)) {
    throw new ExitError(
      1,
      `no capture of ${rid} (${line ? "its usage line names none" : `not in ${dir}`})`,
      'captures are kept while capture = "all" (or "errors", for failed requests) when the request is made',
    );
  }
  const c = parseCapture(readFileSync(path, "utf8"));
  if ("error" in c) throw new ExitError(1, `${path}: ${c.error}`);
  return c;
}

/** The replay's own usage line, once the server has written it. */
async function usageLineOf(rid: string, source: UsageSource): Promise<UsageLine | undefined> {
  const until = Date.now() + 10_000;
  for (;;) {
    const found = tailAcrossRotations(source.log, 1, (r) => r.rid === rid)[0]?.record;
    if (found || Date.now() > until) return found;
    await Bun.sleep(100);
  }
}

/** The headers that carry what is secret (credentials, the replay key, the proxy key): added here, never printed. */
function secretHeaders(plan: ReplayPlan, replayKey: string): Record<string, string> {
  const h: Record<string, string> = { [REPLAY_KEY_HEADER]: replayKey };
  const proxyKey = proxyKeyHere();
  if (proxyKey !== undefined) h[PROXY_KEY_HEADER] = proxyKey;
  const c = plan.credentials;
  if (c.kind === "caller") {
    const value = readEnv().secret(c.variable);
    if (value === undefined) throw new ExitError(2, `--api-key-env ${c.variable}: that variable is not set here`, `export ${c.variable}=... first`);
    h[c.header] = c.header === "authorization" ? `Bearer ${value}` : value;
  }
  return h;
}

/**
 * `ccp replay <rid>`: sends a captured request again through the running ccp, to the lane it first
 * went to or the one given, over the lane's transport or the one given, and sets what came back
 * then beside what comes back now.
 */
export async function replayData(rid: string, opts: ReplayCommandOptions): Promise<ReplayResult | undefined> {
  if (!RID.test(rid)) throw new ExitError(2, `"${rid.slice(0, 80)}" is not a request id`, "give the rid of a usage line (ccp_...), e.g. from ccp usage --errors");
  if (opts.apiKeyEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.apiKeyEnv)) throw new ExitError(2, `--api-key-env "${opts.apiKeyEnv}" is not an environment variable name`);
  const target = await resolveTarget(opts, true);
  // The user's own ccp on that port left its replay key here, and is alive: else nothing is sent.
  const replayKey = readReplayKey(instancePaths(target.home, target.port).replayKey);
  if (replayKey === undefined) {
    reportNotRunning(target, opts.json);
    return undefined;
  }
  const source = await usageSource(opts);
  // Only this shell's own state directory is trusted: what answers on the port may not be the user's ccp.
  if (source.home !== target.home) {
    throw new ExitError(
      1,
      `the ccp on port ${target.port} says its state is in ${source.home}, not in this shell's ${target.home}: replay reads captures and its key only from its own`,
      "run ccp replay with the CCP_HOME that ccp was started with",
    );
  }
  const captured = findCapture(rid, source, target);
  const plan = planReplay(captured, opts, target.config?.lanes ?? {});
  if ("error" in plan) throw new ExitError(plan.code, plan.error, plan.hint);
  const headers = { ...plan.headers, [REPLAY_OF_HEADER]: rid, [REPLAY_LANE_HEADER]: plan.lane, ...(opts.transport ? { [REPLAY_TRANSPORT_HEADER]: opts.transport } : {}) };
  let answer: Awaited<ReturnType<typeof httpRequest>>;
  try {
    const secret = secretHeaders(plan, replayKey);
    answer = await httpRequest(`${instanceUrl(target.host, target.port)}${plan.path}`, { method: "POST", headers: { ...headers, ...secret }, body: plan.body, timeoutMs: opts.timeoutMs ?? 600_000 });
  } catch (e) {
    if ((e as { code?: string }).code !== "ECONNREFUSED") throw e;
    reportNotRunning(target, opts.json);
    return undefined;
  }
  const newRid = header(answer, "x-ccp-rid");
  const line = newRid ? await usageLineOf(newRid, source) : undefined;
  const then = sideOf(captured.record, captured.response.truncated ? undefined : captured.response.body);
  const now = { ...sideOf(line, answer.body), rid: newRid ?? null, status: line?.status ?? answer.status };
  const same = then.answer === null || now.answer === null ? null : then.answer === now.answer;
  return { replay_of: rid, lane: plan.lane, transport: opts.transport ?? "the lane's", credentials: describeCredentials(plan.credentials), then, now, same_answer: same };
}

const cell = (v: unknown) => (v === null || v === undefined ? "-" : String(v));

export function renderReplay(r: ReplayResult): string {
  const row = (name: string, f: (s: Side) => unknown) => [name, cell(f(r.then)), cell(f(r.now))];
  const rows = [
    row("rid", (s) => s.rid),
    row("status", (s) => s.status),
    row("lane", (s) => s.lane),
    row("protocol", (s) => s.protocol),
    row("attempts", (s) => (s.attempts.length ? s.attempts.join(", ") : null)),
    row("failure", (s) => s.failure_class),
    row("ttft ms", (s) => s.ttft_ms),
    row("stop reason", (s) => s.stop_reason),
    row("tokens in/out", (s) => `${cell(s.input_tokens)} / ${cell(s.output_tokens)}`),
  ];
  const answer = r.same_answer === null ? out.dim("not compared (either side's text is unknown)") : r.same_answer ? out.ok("the same text") : out.warn("a different text");
  return [`replay of ${r.replay_of} through lane ${r.lane}, transport ${r.transport}`, `credentials: ${r.credentials}`, table(["", "then", "now"], rows), `answer: ${answer}`].join("\n");
}

/** Exit 0 when the replay got a complete answer, 1 when it did not (or cannot be made), 2 for bad input, 3 when no ccp runs there. */
export async function replay(rid: string, opts: ReplayCommandOptions): Promise<void> {
  const r = await replayData(rid, opts);
  if (!r) return;
  console.log(opts.json ? JSON.stringify(r, null, 2) : renderReplay(r));
  const failed = r.now.status === null || isError({ status: r.now.status, failure_class: r.now.failure_class });
  if (failed) process.exitCode = 1;
}
