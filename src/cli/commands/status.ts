import { hostPort } from "../../config/access.ts";
import { askStatus, keyNeeded } from "../../ops/instance.ts";
import { instanceUrl } from "../../ops/local-http.ts";
import { looksLikeCcpServer, pidAlive } from "../../ops/process.ts";
import { readState } from "../../ops/state-file.ts";
import type { StatusBody } from "../../server/status.ts";
import { out, paint, table } from "../render.ts";
import { resolveTarget } from "../target.ts";

export interface StatusOptions {
  readonly port?: number;
  readonly json?: boolean;
}

/** Exit status when nothing runs on the port (systemctl's "not running"). */
export const NOT_RUNNING_EXIT = 3;

export async function status(opts: StatusOptions): Promise<void> {
  const target = await resolveTarget(opts, true);
  const answer = await askStatus(target.host, target.port);
  if (answer.kind === "needs-key") {
    // Running (exit 0), but its details are the key holder's to see.
    const { what, hint } = keyNeeded(answer.keySent);
    if (opts.json) console.log(JSON.stringify({ running: true, port: target.port, needs_key: true }));
    else console.log(`${out.ok("running")} on ${instanceUrl(target.host, target.port)}; it ${what}\n${paint.hint(hint)}`);
    return;
  }
  const body = answer.kind === "running" ? answer.body : undefined;
  if (!body) {
    const state = readState(target.home, target.port);
    // Its process still there: a ccp stopping (draining its streams) or stuck, not a stale file.
    const alive = state !== undefined && pidAlive(state.pid) && looksLikeCcpServer(state.pid, target.port);
    if (opts.json) console.log(JSON.stringify({ running: false, port: target.port, stale_pid_file: state !== undefined && !alive, ...(alive ? { unanswering_pid: state.pid } : {}) }));
    else if (alive) console.log(`ccp on port ${target.port} does not answer, but its process (pid ${state.pid}) is alive: it is stopping, or stuck (ccp stop ${target.port} ends it)`);
    else console.log(`ccp is not running on port ${target.port}${state ? ` (a stale pid file names pid ${state.pid}; ccp stop ${target.port} removes it)` : ""}`);
    process.exitCode = NOT_RUNNING_EXIT;
    return;
  }
  if (opts.json) {
    console.log(JSON.stringify({ running: true, ...body, dashboard: dashboardUrl(body) }, null, 2));
    return;
  }
  console.log(render(body));
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

function render(b: StatusBody): string {
  const head = [
    `${out.ok("running")} on http://${hostPort(b.host, b.port)}  pid ${b.pid}  profile ${b.profile}  up ${formatUptime(b.uptime_s)}`,
    `dashboard  ${dashboardUrl(b)}`,
    `config     ${b.config ?? "built-in defaults"}`,
    `persist    ${b.persist ? "on" : "off"}`,
    `fallback   ${b.fallback}`,
    `requests   ${b.requests} since start, ${b.errors ? out.bad(`${b.errors} errors`) : "0 errors"}, ${b.inflight} in flight`,
    `usage log  ${b.usage_log}`,
    "",
  ];
  const rows = b.lanes.map((l) => [
    l.name,
    l.protocol === l.transport ? l.transport : `${l.protocol} (configured ${l.transport})`,
    l.base_url,
    l.credentials === "missing" ? out.bad("key missing") : l.credentials === "present" ? "lane key" : "client's",
    String(l.requests),
    l.errors ? out.bad(String(l.errors)) : "0",
  ]);
  return head.join("\n") + table(["lane", "transport", "base url", "credentials", "requests", "errors"], rows);
}
