import { isHealthy } from "../../ops/health.ts";
import { proxyKeyHere } from "../../ops/instance.ts";
import type { PlanBody, QuotaBody, WindowBody } from "../../ops/quota-body.ts";
import { askQuota } from "../../ops/quota-ask.ts";
import { ExitError } from "../exit-error.ts";
import { ago, level, percent, resetsIn } from "../quota-format.ts";
import { out, table } from "../render.ts";
import { resolveTarget } from "../target.ts";
import { reportNeedsKey, reportNotRunning } from "./status.ts";

export interface QuotaOptions {
  readonly port?: number;
  readonly json?: boolean;
}

/** `ccp quota`: where each plan stands, as the running ccp knows it (GET /quota). */
export async function quota(opts: QuotaOptions): Promise<void> {
  const target = await resolveTarget(opts, true);
  const key = proxyKeyHere();
  const answer = await askQuota(target.host, target.port, { key, timeoutMs: 2_000 });
  if (answer.kind === "running") {
    console.log(opts.json ? answer.text.trimEnd() : renderQuota(answer.body));
    return;
  }
  // A refusal or a 404 comes from a ccp only if /healthz (open to all) says it is one.
  const ccp = answer.kind !== "none" && (await isHealthy(target.host, target.port));
  if (ccp && answer.kind === "refused") return reportNeedsKey(target, key !== undefined, opts.json);
  if (ccp && answer.kind === "no-endpoint") {
    throw new ExitError(1, `the ccp on port ${target.port} has no GET /quota: an older version started it`, `ccp restart ${target.port} runs this version, which keeps quota readings`);
  }
  reportNotRunning(target, opts.json);
}

const STATUS_CELL: Record<WindowBody["status"], (s: string) => string> = { allowed: out.ok, allowed_warning: out.warn, rejected: out.bad, unknown: out.dim };
const LEVEL_CELL = { ok: (s: string) => s, warn: out.warn, bad: out.bad } as const;

/** The table (one row per plan and window), then a line per wall, overage reading and failing quota endpoint. */
export function renderQuota(body: QuotaBody): string {
  if (body.plans.length === 0) return "no lanes";
  const rows: string[][] = [];
  for (const p of body.plans) {
    if (p.windows.length === 0) rows.push([p.lane, p.credential, "-", "-", "-", out.dim("no reading yet"), "-", "-"]);
    for (const w of p.windows) {
      rows.push([p.lane, p.credential, w.window, LEVEL_CELL[level(w)](percent(w.utilization)), resetsIn(w.resets_at, body.now), STATUS_CELL[w.status](w.status), w.source, ago(w.read_at, body.now)]);
    }
  }
  const notes = body.plans.flatMap((p) => [wallNote(p, body.now), overageNote(p, body.now)]).filter((n): n is string => n !== undefined);
  const failing = [...new Set(body.plans.filter((p) => p.poll === "failing").map((p) => p.lane))];
  for (const lane of failing) {
    const read = body.plans.some((p) => p.lane === lane && p.windows.length > 0);
    notes.push(out.warn(`poll     ${lane}: its quota endpoint is failing; ${read ? "its readings may be old" : "no reading yet"}`));
  }
  const head = table(["lane", "credential", "window", "used", "resets in", "status", "source", "age"], rows);
  return notes.length ? `${head}\n\n${notes.join("\n")}` : head;
}

function wallNote(p: PlanBody, now: number): string | undefined {
  if (p.wall) {
    const when = p.wall.resets_at === null ? "the provider did not say when it resets" : `resets in ${resetsIn(p.wall.resets_at, now)}`;
    return out.bad(`wall     ${p.lane} (${p.credential}): ${p.wall.window} limit reached (${p.wall.code}); ${when}`);
  }
  if (p.state === "walled") return out.bad(`wall     ${p.lane} (${p.credential}): refused${p.overage_setting === "block" ? " while it uses extra usage (overage = block)" : ""}`);
  return undefined;
}

function overageNote(p: PlanBody, now: number): string | undefined {
  const o = p.overage;
  if (!o) return undefined;
  const parts = [o.in_use ? "in use" : "not in use"];
  if (o.status) parts.push(`status ${o.status}`);
  if (o.utilization !== null) parts.push(`${percent(o.utilization)} used`);
  if (o.resets_at !== null) parts.push(`resets in ${resetsIn(o.resets_at, now)}`);
  parts.push(`lane setting ${p.overage_setting}`);
  const line = `overage  ${p.lane} (${p.credential}): ${parts.join(", ")}`;
  return o.in_use ? out.warn(line) : line;
}
