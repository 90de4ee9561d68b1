import type { PlanBody, QuotaBody, RouteBody } from "../ops/quota-body.ts";
import type { QuotaAnswer } from "../ops/quota-ask.ts";
import { lanePlan, level, percent, resetsIn, windowOf } from "./quota-format.ts";

/**
 * The one line `ccp statusline` prints under Claude Code's prompt: where this session's model
 * goes now, that lane's health, its 5-hour and weekly use, and a mark when a reroute or
 * overage is on. Pure: the answer of GET /quota and Claude Code's stdin in, a string out.
 */

/** What the status line needs of the JSON Claude Code writes on its stdin (CLAUDE-CODE-GATEWAY.md §5). */
export interface ClaudeInput {
  readonly modelId?: string | undefined;
}

/** Claude Code's stdin, read leniently: empty, invalid or oddly shaped input is no input. */
export function parseClaudeInput(text: string): ClaudeInput {
  try {
    const v = JSON.parse(text) as { model?: { id?: unknown } } | null;
    // One line, whatever the id holds: control characters (a newline would print a second line) are dropped.
    const id = typeof v?.model?.id === "string" ? v.model.id.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "").trim() : "";
    return id ? { modelId: id } : {};
  } catch {
    return {};
  }
}

/** Colours the line may use (identity functions when colour is off). */
export interface LinePaint {
  readonly ok: (s: string) => string;
  readonly warn: (s: string) => string;
  readonly bad: (s: string) => string;
  readonly dim: (s: string) => string;
}

export const PLAIN: LinePaint = { ok: (s) => s, warn: (s) => s, bad: (s) => s, dim: (s) => s };

/** The windows shown: the 5-hour and the weekly one (the plans' binding limits). */
const WINDOWS = ["5h", "7d"] as const;
const MAX_MODEL_CHARS = 40;

export function statusLineText(answer: QuotaAnswer, input: ClaudeInput, p: LinePaint = PLAIN): string {
  if (answer.kind === "none") return p.dim("ccp: off");
  if (answer.kind === "refused") return p.warn("ccp: needs key");
  if (answer.kind === "no-endpoint") return p.dim("ccp: no /quota (restart it)");
  const body = answer.body;
  if (!input.modelId) return p.dim("ccp: on");
  const route = body.route;
  if (!route) return p.dim(`ccp: no route for ${clip(input.modelId)}`);
  if (route.lane === null) return `ccp ${p.bad("✗ all walled")}: ${route.lanes.map((l) => `${l} ↻${wallReset(body, l)}`).join(", ")}`;
  const plan = lanePlan(body, route.lane);
  const parts = [`ccp ${laneText(route, p)} ${health(plan, p)}`];
  const uses = WINDOWS.map((w) => useText(plan, w, body.now, p)).filter((u): u is string => u !== undefined);
  parts.push(uses.length ? uses.join(" · ") : p.dim("no reading yet"));
  const line = parts.join(" ");
  return plan?.overage?.in_use ? `${line} · ${p.warn("overage")}` : line;
}

const clip = (s: string) => (s.length > MAX_MODEL_CHARS ? `${s.slice(0, MAX_MODEL_CHARS - 1)}…` : s);

/** "zai", or "↪ anthropic (zai walled)" when the route's first lane was passed over. */
function laneText(route: RouteBody, p: LinePaint): string {
  if (!route.rerouted_from) return route.lane ?? "-";
  const why = route.reason === "quota_wall" ? "walled" : route.reason === "quota_threshold" ? `over ${percent(route.quota_threshold)}` : "passed over";
  return p.warn(`↪ ${route.lane} (${route.rerouted_from} ${why})`);
}

/** ✓ with no errors since start; else errors/requests, yellow under 10% of requests, red above; a lane without its key, said so. */
function health(plan: PlanBody | undefined, p: LinePaint): string {
  if (plan?.key_missing) return p.bad("✗ key missing");
  if (!plan || plan.errors === 0) return p.ok("✓");
  const text = `✗ ${plan.errors}/${plan.requests}`;
  return plan.errors / Math.max(1, plan.requests) < 0.1 ? p.warn(text) : p.bad(text);
}

/** "5h 42% ↻2h10m" (no ↻ when the reset time is unknown). */
function useText(plan: PlanBody | undefined, name: string, now: number, p: LinePaint): string | undefined {
  const w = windowOf(plan, name);
  if (!w) return undefined;
  const used = percent(w.utilization);
  const paint = { ok: (s: string) => s, warn: p.warn, bad: p.bad }[level(w)];
  return `${name} ${paint(used)}${w.resets_at === null ? "" : ` ${p.dim(`↻${resetsIn(w.resets_at, now)}`)}`}`;
}

/** When a walled lane opens again: the earliest wall reset among its plans ("?" when unknown). */
function wallReset(body: QuotaBody, lane: string): string {
  const resets = body.plans.filter((x) => x.lane === lane && x.wall?.resets_at != null).map((x) => x.wall!.resets_at!);
  return resets.length ? resetsIn(Math.min(...resets), body.now) : "?";
}
