import { PROMETHEUS_CONTENT_TYPE } from "../usage/metrics-registry.ts";
import type { ServerContext } from "./context.ts";
import { dashboardData } from "./dashboard-data.ts";
import { DASHBOARD_HTML, DASHBOARD_SCRIPT_HASH } from "./dashboard-page.ts";
import { errorResponse } from "./errors.ts";
import { readiness } from "./readiness.ts";
import type { Observability } from "./observability.ts";

const NO_STORE = { "cache-control": "no-store" };

const ROUTES: Record<string, (ctx: ServerContext, obs: Observability, port: number) => Response> = {
  "/metrics": (_ctx, obs) => new Response(obs.metrics.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE, ...NO_STORE } }),
  "/readyz": (ctx, obs) => {
    const body = readiness(ctx, obs);
    return Response.json(body, { status: body.status === "ready" ? 200 : 503, headers: NO_STORE });
  },
  "/dashboard": () =>
    new Response(DASHBOARD_HTML, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        // Self-contained and read-only: nothing may be loaded from elsewhere, nothing posted anywhere.
        "content-security-policy": [
          "default-src 'none'",
          `script-src '${DASHBOARD_SCRIPT_HASH}'`,
          "style-src 'unsafe-inline'",
          "connect-src 'self'",
          "img-src data:",
          "form-action 'none'",
          "frame-ancestors 'none'",
          "base-uri 'none'",
        ].join("; "),
        ...NO_STORE,
      },
    }),
  "/dashboard/data": (ctx, obs, port) => Response.json(dashboardData(ctx, obs, port), { headers: NO_STORE }),
};

/** The observability endpoints; undefined when the path is not one of them. */
export function observeRoute(ctx: ServerContext, obs: Observability, req: Request, path: string, port: number): Response | undefined {
  const route = ROUTES[path];
  if (!route) return undefined;
  if (req.method !== "GET" && req.method !== "HEAD") {
    return errorResponse(405, `ccp: ${path} accepts GET, HEAD`, ctx.newRid(), undefined, { allow: "GET, HEAD" });
  }
  return route(ctx, obs, port);
}
