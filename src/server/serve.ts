import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import { createRouter } from "../routing/router.ts";
import { createTransports } from "../upstream/registry.ts";
import { FanoutSink } from "../usage/fanout-sink.ts";
import { JsonlSink } from "../usage/jsonl-sink.ts";
import type { UsageSink } from "../usage/record.ts";
import { createApp } from "./app.ts";
import type { Logger, ServerContext } from "./context.ts";
import { newLiveState } from "./live.ts";

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets in-flight responses finish (up to graceMs), flushes the usage log. */
  stop(graceMs?: number): Promise<void>;
}

export function usageLogPath(config: Pick<Config, "home" | "profile">): string {
  return join(config.home, "logs", config.profile, "usage.jsonl");
}

const newRid = () => `ccp_${Date.now().toString(36)}${randomBytes(6).toString("hex")}`;

export function startServer(config: Config, log: Logger): RunningServer {
  const transports = createTransports(config.lanes);
  const sinks: UsageSink[] = [new JsonlSink(usageLogPath(config), (e) => log.error(`usage log write failed: ${e.message}`))];
  const sink = new FanoutSink(sinks);
  const ctx: ServerContext = {
    config,
    router: createRouter(config),
    transports,
    sink,
    live: newLiveState([...transports].map(([name, t]) => ({ name, protocol: t.protocol }))),
    capture: undefined,
    log,
    now: () => performance.now(),
    newRid,
  };
  const app = createApp(ctx);
  let port = 0;
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    // Bun closes connections idle for 10 s by default; a quiet SSE stream is not idle to us.
    // Streaming requests opt out per request below; this bounds idle keep-alive connections.
    idleTimeout: 255,
    maxRequestBodySize: 64 * 1024 * 1024,
    fetch(req, srv) {
      if (req.method === "POST") srv.timeout(req, 0);
      return app.fetch(req, port);
    },
    error(e) {
      log.error(`unhandled: ${e.message}`);
      return new Response(JSON.stringify({ type: "error", error: { type: "api_error", message: "ccp internal error" } }), {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    },
  });
  port = server.port ?? config.port;
  return {
    url: `http://${config.host}:${port}`,
    port,
    async stop(graceMs = 10_000) {
      const closing = server.stop(false);
      await Promise.race([closing, Bun.sleep(graceMs)]);
      server.stop(true);
      for (const t of transports.values()) t.close();
      await sink.flush();
    },
  };
}
