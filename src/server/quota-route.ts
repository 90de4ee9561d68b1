import type { Lane } from "../config/config.ts";
import type { PlanBody, QuotaBody, RouteBody } from "../ops/quota-body.ts";
import type { PlanState } from "../quota/book.ts";
import { quotaUrlOf } from "../quota/poller.ts";
import type { ServerContext } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { StatusCounter } from "./status-counter.ts";

export const QUOTA_PATH = "/quota";

/** GET /quota[?model=]: where each plan stands (src/ops/quota-body.ts). Credentials appear only as salted hashes. */
export function quotaResponse(ctx: ServerContext, req: Request, url: URL): Response {
  if (req.method !== "GET" && req.method !== "HEAD") return errorResponse(405, `ccp: ${QUOTA_PATH} accepts GET, HEAD`, ctx.newRid(), undefined, { allow: "GET, HEAD" });
  return Response.json(quotaBody(ctx, url.searchParams.get("model")?.slice(0, 256) ?? null), { headers: { "cache-control": "no-store" } });
}

export function quotaBody(ctx: ServerContext, model: string | null): QuotaBody {
  const desk = ctx.quota;
  const counter = StatusCounter.of(ctx.live);
  const plans = desk.book.plans();
  const row = (lane: Lane, p: PlanState | undefined): PlanBody => ({
    lane: lane.name,
    dialect: lane.dialect,
    credential: p?.credential ?? "none",
    state: p && desk.standing(lane, p.credential, Number.POSITIVE_INFINITY).wall ? "walled" : "ok",
    windows: p ? [...p.windows.values()].map((w) => ({ window: w.window, utilization: w.utilization, resets_at: w.resetsAt, status: w.status, source: w.source, read_at: w.readAt })) : [],
    wall: p?.wall ? { window: p.wall.window, resets_at: p.wall.resetsAt, code: p.wall.code } : null,
    overage: p?.overage ? { in_use: p.overage.inUse, status: p.overage.status, utilization: p.overage.utilization, resets_at: p.overage.resetsAt } : null,
    overage_setting: lane.overage,
    poll: quotaUrlOf(lane) ? (desk.polls.get(lane.name) ?? "idle") : "none",
    requests: counter?.lanes.get(lane.name)?.requests ?? 0,
    errors: counter?.lanes.get(lane.name)?.errors ?? 0,
    key_missing: lane.auth === "key" && !lane.key,
  });
  const rows: PlanBody[] = [];
  for (const lane of Object.values(ctx.config.lanes)) {
    const own = plans.filter((p) => p.lane === lane.name);
    if (own.length === 0) rows.push(row(lane, undefined));
    for (const p of own) rows.push(row(lane, p));
  }
  return { service: "ccp", now: desk.clock(), plans: rows, route: model === null ? undefined : routeBody(ctx, model) };
}

function routeBody(ctx: ServerContext, model: string): RouteBody | undefined {
  const decision = ctx.router({ model });
  if (decision.kind === "none") return undefined;
  const s = ctx.quota.steer({ ...decision.chain, model }, undefined);
  return {
    model,
    lanes: decision.chain.lanes,
    lane: s.kind === "lane" ? s.lane : null,
    rerouted_from: s.kind === "lane" ? s.reroutedFrom : null,
    reason: s.kind === "lane" ? s.reason : null,
    quota_threshold: decision.chain.threshold,
  };
}
