import { randomBytes } from "node:crypto";
import { Cluster } from "../cluster/cluster.ts";
import { clusterWarnings } from "../cluster/config-warnings.ts";
import { redisPassword } from "../cluster/redis-url.ts";
import { exposureProblem, hostPort } from "../config/access.ts";
import type { Config } from "../config/config.ts";
import { missingKeys, missingKeyWarning } from "../config/lane-keys.ts";
import { prepareStateDir } from "../ops/state-dir.ts";
import type { TransportFactory } from "../resilience/lane-runtime.ts";
import { createLaneRuntimes } from "../resilience/lanes.ts";
import { createRouter } from "../routing/router.ts";
import { FanoutSink } from "../usage/fanout-sink.ts";
import { JsonlSink } from "../usage/jsonl-sink.ts";
import { newLiveState } from "../usage/live.ts";
import { usageLogPath } from "../usage/paths.ts";
import type { UsageSink } from "../usage/record.ts";
import { redactor } from "../usage/redact.ts";
import { rotationPolicy } from "../usage/rotation.ts";
import { createApp } from "./app.ts";
import type { Logger, ServerContext } from "./context.ts";
import { createObservability, type Observability } from "./observability.ts";
import { secretFilter } from "./secret-filter.ts";
import { StatusCounter } from "./status-counter.ts";
import { QuotaDesk } from "../quota/desk.ts";
import { Signers } from "../rewrite/signers.ts";
import { QuotaPoller, type PollerOptions } from "../quota/poller.ts";
import { removeReplayKey, writeReplayKey } from "./replay-key-file.ts";
import { instancePaths } from "../ops/paths.ts";

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets in-flight responses finish (up to graceMs), flushes the usage log. */
  stop(graceMs?: number): Promise<void>;
}

const newRid = () => `ccp_${Date.now().toString(36)}${randomBytes(6).toString("hex")}`;

/** After the grace period, how long stopping waits for cut requests to write their usage lines. */
const DRAIN_MS = 3_000;

/** What a server is made of besides its socket: what tests replace to drive the request path in process. */
export interface ServerDeps {
  /** The lanes' transports (default: ccp's own HTTP/1.1 and HTTP/2 clients). */
  readonly transports?: TransportFactory | undefined;
  /** Wall-clock milliseconds, for plan windows and their resets (default Date.now). */
  readonly clock?: (() => number) | undefined;
  /** The quota poller's fetch and timings (tests). */
  readonly polls?: PollerOptions | undefined;
}

/** The request path's context and the sinks behind it, without a socket (`createApp(...).fetch` runs it). */
export interface ServerParts {
  readonly ctx: ServerContext;
  readonly obs: Observability;
  /** Aborts in-flight attempts (the end of the grace period). */
  readonly cut: () => void;
  /** Reads the lanes' quota endpoints while they have traffic. */
  readonly poller: QuotaPoller;
}

export function createServerParts(config: Config, log: Logger, deps: ServerDeps = {}): ServerParts {
  const live = newLiveState([]);
  const replayKey = randomBytes(24).toString("hex");
  const ownSecrets = [
    ...Object.values(config.lanes).map((l) => l.key),
    config.access.key,
    ...config.access.clients.map((c) => c.key),
    config.store.password,
    redisPassword(config.cluster.redis_url),
    replayKey,
  ];
  const redact = redactor(ownSecrets);
  const cluster = Cluster.of(config, { info: (m) => log.info(redact(m)), warn: (m) => log.warn(redact(m)) }, { redact, clock: deps.clock });
  const lanes = createLaneRuntimes(config.lanes, live, deps.transports, cluster && ((lane, local) => cluster.share(lane, local)));
  const quota = QuotaDesk.of(config, (m) => log.warn(m), deps.clock);
  cluster?.attachQuota(quota);
  const obs = createObservability(config, live, log, quota, cluster);
  const sinks: UsageSink[] = [
    ...obs.annotators,
    new JsonlSink(usageLogPath(config), (e) => log.error(`usage log write failed: ${e.message}`), rotationPolicy(config.rotation)),
    new StatusCounter(live),
    ...obs.sinks,
  ];
  const shutdown = new AbortController();
  const ctx: ServerContext = {
    config,
    shutdown: shutdown.signal,
    router: createRouter(config),
    lanes,
    sink: new FanoutSink(sinks),
    live,
    capture: obs.capture,
    log,
    now: () => performance.now(),
    newRid,
    secrets: secretFilter(ownSecrets),
    redact,
    quota,
    signers: new Signers(),
    replayKey,
    cluster,
  };
  const poller = new QuotaPoller(Object.values(config.lanes), quota, { info: (m) => log.info(redact(m)), warn: (m) => log.warn(redact(m)) }, deps.polls);
  return { ctx, obs, cut: () => shutdown.abort(), poller };
}

export function startServer(config: Config, log: Logger, deps: ServerDeps = {}): RunningServer {
  // `ccp start` refuses first, with a hint; this guards every other way of starting a server.
  const exposure = exposureProblem(config);
  if (exposure) throw new Error(`${exposure.message} (${exposure.hint})`);
  const unsafeHome = prepareStateDir(config);
  if (unsafeHome) throw new Error(`${unsafeHome.message} (${unsafeHome.hint})`);
  for (const missing of missingKeys(config)) log.warn(missingKeyWarning(missing));
  for (const w of clusterWarnings(config)) log.warn(w);
  const { ctx, obs, cut, poller } = createServerParts(config, log, deps);
  const { live, lanes, sink } = ctx;
  const app = createApp(ctx, obs);
  let port = 0;
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    // Bun's idle timer bounds a connection's request head (a trickle does not reset it) and idle
    // keep-alive. A quiet SSE stream is not idle to us: forwarded requests lift it once let in
    // (keepOpen); their body has its own deadline and their upstream its own timeouts.
    idleTimeout: config.limits.idle_timeout_s,
    // The body limit is ours (413 with Anthropic's envelope, read as a stream): Bun's must never fire first.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch(req, srv) {
      return app.fetch(req, port, {
        get peer() {
          return srv.requestIP(req)?.address;
        },
        keepOpen: () => srv.timeout(req, 0),
      });
    },
    error(e) {
      // Bun's messages may quote what came in (a header name holding a credential, say).
      log.error(`unhandled: ${ctx.redact(e.message)}`);
      return new Response(JSON.stringify({ type: "error", error: { type: "api_error", message: "ccp internal error" } }), {
        status: 500,
        headers: { "content-type": "application/json", "x-content-type-options": "nosniff" },
      });
    },
  });
  port = server.port ?? config.port;
  const replayKeyFile = instancePaths(config.home, port).replayKey;
  writeReplayKey(replayKeyFile, ctx.replayKey, log);
  // The fleet knows this instance by its name and port (several may run on one host).
  void ctx.cluster?.start(`${config.instance}:${port}`);
  return {
    url: `http://${hostPort(config.host, port)}`,
    port,
    async stop(graceMs = 10_000) {
      // Stop listening at once (new connections are refused); in-flight responses get the grace period.
      const closing = server.stop(false);
      await Promise.race([closing, Bun.sleep(graceMs)]);
      if (live.inflight > 0) {
        // Grace is over: cut the remaining upstream attempts so each committed stream still ends
        // with an event: error frame (the guard writes it) before the connections are closed.
        cut();
        const until = Date.now() + 1_000;
        while (live.inflight > 0 && Date.now() < until) await Bun.sleep(10);
      }
      server.stop(true);
      poller.stop();
      for (const lane of lanes.values()) lane.close();
      // Requests cut just now write their usage lines as their streams unwind: wait for them before the flush.
      const drained = Date.now() + DRAIN_MS;
      while (live.inflight > 0 && Date.now() < drained) await Bun.sleep(10);
      if (live.inflight > 0) log.warn(`${live.inflight} requests had not finished when ccp stopped; their usage lines are missing`);
      await sink.flush();
      await obs.close();
      removeReplayKey(replayKeyFile, ctx.replayKey);
      ctx.cluster?.close();
    },
  };
}
