import type { ServerContext } from "./context.ts";
import type { Observability } from "./observability.ts";
import { quotaBody } from "./quota-route.ts";
import { readiness } from "./readiness.ts";

const RECENT_ROWS = 40;
const RATE_WINDOW_MS = 5 * 60_000;

/**
 * What the dashboard shows, in one JSON answer (GET /dashboard/data). Totals are read from
 * the metrics registry itself, so the page and /metrics can never disagree. Errors are
 * requests (usage/outcome.ts); failed attempts are counted apart.
 */
export function dashboardData(ctx: ServerContext, obs: Observability, port: number) {
  const m = obs.metrics.m;
  const failedAttempts = (where: { lane?: string } = {}) => m.attempts.total(where) - m.attempts.total({ ...where, outcome: "ok" });
  const ready = readiness(ctx, obs);
  return {
    now: Date.now(),
    service: "ccp",
    profile: ctx.config.profile,
    /** Started by `ccp demo`: the page says so. */
    demo: ctx.config.demo === true,
    port,
    started_at: new Date(ctx.live.startedAt).toISOString(),
    ready: ready.status,
    totals: {
      requests: m.requests.total(),
      errors: m.errors.total(),
      inflight: ctx.live.inflight,
      retries: m.retries.total(),
      fallbacks: m.fallbacks.total(),
      reroutes: m.reroutes.total(),
      downgrades: m.downgrades.total(),
      failed_attempts: failedAttempts(),
    },
    /** Requests per minute over the last 5 minutes. */
    rate_per_min: Math.round((obs.recent.countSince(RATE_WINDOW_MS) / (RATE_WINDOW_MS / 60_000)) * 10) / 10,
    ttft_hour: obs.recent.hourTtft(),
    lanes: ready.lanes.map((l) => ({
      ...l,
      queue_depth: ctx.live.lanes.get(l.name)?.queueDepth ?? 0,
      requests: m.requests.total({ lane: l.name }),
      errors: m.errors.total({ lane: l.name }),
      failed_attempts: failedAttempts({ lane: l.name }),
      ok_attempts: m.attempts.total({ lane: l.name, outcome: "ok" }),
    })),
    /** Each plan's windows (GET /quota's rows). */
    quota: quotaBody(ctx, null).plans,
    minutes: obs.recent.perMinute(),
    recent: obs.recent.latest(RECENT_ROWS),
  };
}

export type DashboardData = ReturnType<typeof dashboardData>;
