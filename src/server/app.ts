import type { ServerContext } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { forward, type Endpoint } from "./forward.ts";

/** Endpoints and the methods they take. Paths match exactly; the query string is the client's business. */
const ENDPOINTS: Record<string, { methods: readonly string[]; forward?: Endpoint }> = {
  "/v1/messages": { methods: ["POST"], forward: "/v1/messages" },
  "/v1/messages/count_tokens": { methods: ["POST"], forward: "/v1/messages/count_tokens" },
  "/v1/models": { methods: ["GET"], forward: "/v1/models" },
  "/healthz": { methods: ["GET", "HEAD"] },
  "/": { methods: ["GET", "HEAD"] },
};

export interface App {
  /** The server's fetch handler; callable in-process by tests. */
  fetch(req: Request, port: number): Promise<Response> | Response;
}

export function createApp(ctx: ServerContext): App {
  return {
    fetch(req, port) {
      const path = new URL(req.url).pathname;
      const endpoint = ENDPOINTS[path];
      if (!endpoint) return errorResponse(404, `ccp: no such endpoint: ${req.method} ${path.slice(0, 200)}`, ctx.newRid());
      if (!endpoint.methods.includes(req.method)) {
        return errorResponse(405, `ccp: ${path} accepts ${endpoint.methods.join(", ")}`, ctx.newRid(), { allow: endpoint.methods.join(", ") });
      }
      if (endpoint.forward) return forward(ctx, req, endpoint.forward, port);
      return Response.json({ status: "ok", service: "ccp", profile: ctx.config.profile, port });
    },
  };
}
