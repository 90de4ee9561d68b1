import type { ServerContext } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { StatusCounter } from "./status-counter.ts";
// serve.ts owns the usage log path (rotation may change it); a function import, safe in the cycle.
import type { LaneStatus, StatusBody } from "../ops/status-body.ts";
export type { LaneStatus, StatusBody };
import { usageLogPath } from "../usage/paths.ts";

export const STATUS_PATH = "/status";

/** GET /status: what `ccp status` shows. Holds no key or token, only whether one is present. */

export function statusBody(ctx: ServerContext, port: number): StatusBody {
  const counter = StatusCounter.of(ctx.live);
  const c = ctx.config;
  return {
    service: "ccp",
    pid: process.pid,
    host: c.host,
    port,
    profile: c.profile,
    config: c.source ?? null,
    usage_log: usageLogPath(c),
    started_at: new Date(ctx.live.startedAt).toISOString(),
    uptime_s: Math.max(0, Math.round((Date.now() - ctx.live.startedAt) / 1000)),
    persist: c.persist,
    fallback: c.fallback,
    requests: counter?.total.requests ?? 0,
    errors: counter?.total.errors ?? 0,
    inflight: ctx.live.inflight,
    lanes: Object.values(c.lanes).map((lane) => ({
      name: lane.name,
      transport: lane.transport,
      protocol: ctx.live.lanes.get(lane.name)?.protocol ?? lane.transport,
      base_url: lane.base_url,
      dialect: lane.dialect,
      auth: lane.auth,
      credentials: lane.auth === "key" ? (lane.key ? "present" : "missing") : "client",
      requests: counter?.lanes.get(lane.name)?.requests ?? 0,
      errors: counter?.lanes.get(lane.name)?.errors ?? 0,
    })),
    managed_by: c.managed_by ?? null,
    demo: c.demo === true,
    ...(ctx.cluster ? { cluster: ctx.cluster.status() } : {}),
  };
}

export function statusResponse(ctx: ServerContext, req: Request, port: number): Response | Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return errorResponse(405, `ccp: ${STATUS_PATH} accepts GET, HEAD`, ctx.newRid(), undefined, { allow: "GET, HEAD" });
  }
  const answer = () => Response.json(statusBody(ctx, port), { headers: { "cache-control": "no-store" } });
  // The fleet as it is now (each read bounded by op_timeout_ms; the last one read when Redis does not answer).
  return ctx.cluster ? ctx.cluster.refresh().then(answer) : answer();
}
