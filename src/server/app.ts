import { AccessGate } from "./access.ts";
import { browserPolicy, browserProblem, simpleRequestProblem } from "./browser-guard.ts";
import type { ServerContext } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { forward, type Endpoint } from "./forward.ts";
import type { Observability } from "./observability.ts";
import { observeRoute } from "./observe-routes.ts";
import { STATUS_PATH, statusResponse } from "./status.ts";
import { QUOTA_PATH, quotaResponse } from "./quota-route.ts";

/** Endpoints and the methods they take. Paths match exactly; the query string is the client's business. */
const ENDPOINTS: Record<string, { methods: readonly string[]; forward?: Endpoint }> = {
  "/v1/messages": { methods: ["POST"], forward: "/v1/messages" },
  "/v1/messages/count_tokens": { methods: ["POST"], forward: "/v1/messages/count_tokens" },
  "/v1/models": { methods: ["GET"], forward: "/v1/models" },
  "/healthz": { methods: ["GET", "HEAD"] },
  "/": { methods: ["GET", "HEAD"] },
};

/** What the server knows of the connection a request came on. */
export interface Connection {
  /** The client's address, for the log. */
  readonly peer?: string | undefined;
  /** The request was let in and will be forwarded: lift the server's idle timer (quiet streams are not idle). */
  readonly keepOpen?: (() => void) | undefined;
}

export interface App {
  /** The server's fetch handler; callable in-process by tests. */
  fetch(req: Request, port: number, conn?: Connection): Promise<Response> | Response;
}

/**
 * Every answer: a browser must never guess another content type than the one ccp declares,
 * and an upstream's HTML page passed on (a provider's 404, say) runs no script in ccp's origin.
 */
function hardened(res: Response): Response {
  res.headers.set("x-content-type-options", "nosniff");
  if (!res.headers.has("content-security-policy")) res.headers.set("content-security-policy", "default-src 'none'; sandbox");
  return res;
}

export function createApp(ctx: ServerContext, obs?: Observability): App {
  const gate = new AccessGate(ctx.config.access);
  const browsers = browserPolicy(ctx.config);
  const route = (req: Request, port: number, conn: Connection | undefined): Promise<Response> | Response => {
    // ccp is not a forward proxy; a request Bun could not turn into a URL (a Host with user info,
    // spaces or a path; HTTP/1.0 without Host) is the client's mistake, not ccp's.
    if (req.method === "CONNECT")
      return errorResponse(400, "ccp: CONNECT is not supported: ccp is not a forward proxy; set ANTHROPIC_BASE_URL to ccp's URL instead", ctx.newRid(), undefined, { connection: "close" });
    const url = URL.canParse(req.url) ? new URL(req.url) : undefined;
    if (!url) return errorResponse(400, "ccp: the request has no valid Host header", ctx.newRid(), undefined, { connection: "close" });
    const path = url.pathname;
    // Before anything else: no web page may use ccp (DNS rebinding, cross-site posts).
    const fromPage = browserProblem(url, req.headers, browsers);
    if (fromPage) {
      ctx.log.warn(`403 refused a browser request: ${req.method} ${JSON.stringify(path.slice(0, 100))}${conn?.peer ? ` from ${conn.peer}` : ""}: ${fromPage}`);
      return errorResponse(403, `ccp: ${fromPage}`, ctx.newRid());
    }
    // Then, before anything reads the request: every endpoint but /healthz needs the proxy key, which is removed here.
    const access = gate.check(req.headers, path);
    if (!access.ok) {
      ctx.log.warn(`401 ${access.reason === "missing" ? "missing" : "unknown"} key: ${req.method} ${JSON.stringify(path.slice(0, 100))}${conn?.peer ? ` from ${conn.peer}` : ""}`);
      const hint = access.reason === "missing" ? "this ccp requires its proxy key" : "the key presented is not one of this ccp's";
      return errorResponse(401, `ccp: ${hint}: send it in the x-ccp-key header (or as x-api-key / authorization: Bearer)`, ctx.newRid());
    }
    // Without a proxy key, what ccp forwards must carry a header no page can send unasked (a key is one such).
    const forwarded = ENDPOINTS[path];
    const simple = !gate.enabled && forwarded?.forward && forwarded.methods.includes(req.method) && simpleRequestProblem(req.method, req.headers);
    if (simple) return errorResponse(400, `ccp: ${simple}`, ctx.newRid());
    if (path === STATUS_PATH) return statusResponse(ctx, req, port);
    if (path === QUOTA_PATH) return quotaResponse(ctx, req, url);
    const observed = obs && observeRoute(ctx, obs, req, path, port);
    if (observed) return observed;
    const endpoint = ENDPOINTS[path];
    if (!endpoint) return errorResponse(404, `ccp: no such endpoint: ${req.method} ${path.slice(0, 200)}`, ctx.newRid());
    if (!endpoint.methods.includes(req.method)) {
      return errorResponse(405, `ccp: ${path} accepts ${endpoint.methods.join(", ")}`, ctx.newRid(), undefined, { allow: endpoint.methods.join(", ") });
    }
    if (endpoint.forward) {
      conn?.keepOpen?.();
      return forward(ctx, req, endpoint.forward, port, url.search, access.client);
    }
    return Response.json({ status: "ok", service: "ccp", profile: ctx.config.profile, port });
  };
  return {
    fetch(req, port, conn) {
      const res = route(req, port, conn);
      return res instanceof Promise ? res.then(hardened) : hardened(res);
    },
  };
}
