import { hostPort } from "../../config/access.ts";
import { askStatus, keyNeeded, proxyKeyHere } from "../../ops/instance.ts";
import { instanceUrl } from "../../ops/local-http.ts";
import { looksLikeCcpServer, pidAlive } from "../../ops/process.ts";
import type { QuotaBody } from "../../ops/quota-body.ts";
import { askQuota } from "../../ops/quota-ask.ts";
import { readState } from "../../ops/state-file.ts";
import type { StatusBody } from "../../server/status.ts";
import { out, paint, table } from "../render.ts";
import { laneMarks, lanePlan, marksText, shortUse } from "../quota-format.ts";
import { renderCluster } from "../cluster-format.ts";
import { resolveTarget, type Target } from "../target.ts";

export interface StatusOptions {
  readonly port?: number;
  readonly json?: boolean;
}

/** Exit status when nothing runs on the port (systemctl's "not running"). */
export const NOT_RUNNING_EXIT = 3;

export async function status(opts: StatusOptions): Promise<void> {
  const target = await resolveTarget(opts, true);
  const answer = await askStatus(target.host, target.port);
  if (answer.kind === "needs-key") return reportNeedsKey(target, answer.keySent, opts.json);
  if (answer.kind !== "running") return reportNotRunning(target, opts.json);
  const body = answer.body;
  // The quota column is a bonus: a ccp without /quota, or one slow to answer it, still has a status.
  const quota = await askQuota(target.host, target.port, { key: proxyKeyHere(), timeoutMs: 1_000 });
  const plans = quota.kind === "running" ? quota.body : undefined;
  if (opts.json) {
    // `quota`: GET /quota's plans (null when it did not answer), as `ccp quota --json` gives them;
    // each lane's `quota_marks`: its wall and overage, read from the plan its quota column shows.
    const lanes = body.lanes.map((l) => ({ ...l, quota_marks: plans ? laneMarks(lanePlan(plans, l.name), plans.now) : null }));
    console.log(JSON.stringify({ running: true, ...body, lanes, dashboard: dashboardUrl(body), quota: plans?.plans ?? null }, null, 2));
    return;
  }
  console.log(render(body, plans));
}

/** A running ccp that keeps its details for the key holder: exit 0, and what to do (ccp status, ccp quota). */
export function reportNeedsKey(target: Target, keySent: boolean, json: boolean | undefined): void {
  const { what, hint } = keyNeeded(keySent);
  if (json) console.log(JSON.stringify({ running: true, port: target.port, needs_key: true }));
  else console.log(`${out.ok("running")} on ${instanceUrl(target.host, target.port)}; it ${what}\n${paint.hint(hint)}`);
}

/** Nothing answers on the target's port: says whether a pid file is stale or its process stuck, and exits 3 (ccp status, ccp quota). */
export function reportNotRunning(target: Target, json: boolean | undefined): void {
  const state = readState(target.home, target.port);
  // Its process still there: a ccp stopping (draining its streams) or stuck, not a stale file.
  const alive = state !== undefined && pidAlive(state.pid) && looksLikeCcpServer(state.pid, target.port);
  if (json) console.log(JSON.stringify({ running: false, port: target.port, stale_pid_file: state !== undefined && !alive, ...(alive ? { unanswering_pid: state.pid } : {}) }));
  else if (alive) console.log(`ccp on port ${target.port} does not answer, but its process (pid ${state.pid}) is alive: it is stopping, or stuck (ccp stop ${target.port} ends it)`);
  else console.log(`ccp is not running on port ${target.port}${state ? ` (a stale pid file names pid ${state.pid}; ccp stop ${target.port} removes it)` : ""}`);
  process.exitCode = NOT_RUNNING_EXIT;
}

export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3_600);
  const m = Math.floor((seconds % 3_600) / 60);
  const s = seconds % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

/** Where a browser on this machine finds the instance's dashboard. */
const dashboardUrl = (b: StatusBody) => `${instanceUrl(b.host, b.port)}/dashboard`;

/** "42% / 13%", then a lane's marks: "102% / - · walled ↻45m · overage" (red, yellow). */
function quotaCell(quota: QuotaBody, lane: string): string {
  const plan = lanePlan(quota, lane);
  return [shortUse(plan), ...marksText(laneMarks(plan, quota.now), quota.now, out)].join(" · ");
}

function render(b: StatusBody, quota: QuotaBody | undefined): string {
  const head = [
    `${out.ok("running")} on http://${hostPort(b.host, b.port)}  pid ${b.pid}  profile ${b.profile}  up ${formatUptime(b.uptime_s)}`,
    `dashboard  ${dashboardUrl(b)}`,
    `config     ${b.config ?? "built-in defaults"}`,
    `persist    ${b.persist ? "on" : "off"}`,
    `fallback   ${b.fallback}`,
    `requests   ${b.requests} since start, ${b.errors ? out.bad(`${b.errors} errors`) : "0 errors"}, ${b.inflight} in flight`,
    `usage log  ${b.usage_log}`,
    ...(b.managed_by ? [`service    ${b.managed_by.manager} ${b.managed_by.name} (ccp stop and restart go through it)`] : []),
    ...(b.demo ? [out.warn("demo       a simulated upstream answers: nothing reaches a provider (ccp demo)")] : []),
    "",
  ];
  const rows = b.lanes.map((l) => [
    l.name,
    l.protocol === l.transport ? l.transport : `${l.protocol} (configured ${l.transport})`,
    l.base_url,
    l.credentials === "missing" ? out.bad("key missing") : l.credentials === "present" ? "lane key" : "client's",
    String(l.requests),
    l.errors ? out.bad(String(l.errors)) : "0",
    quota ? quotaCell(quota, l.name) : "-",
  ]);
  const lanes = table(["lane", "transport", "base url", "credentials", "requests", "errors", "quota 5h / 7d"], rows);
  return head.join("\n") + lanes + (b.cluster ? `\n\n${renderCluster(b.cluster)}` : "");
}
