import type { Config } from "../config/config.ts";
import { instancePaths } from "../ops/paths.ts";
import { FileCapture } from "../usage/capture.ts";
import { LaneHealth } from "../usage/lane-health.ts";
import { type ClusterGauges, MetricsSink } from "../usage/metrics-sink.ts";
import { RecentRequests } from "../usage/recent.ts";
import type { UsageSink } from "../usage/record.ts";
import { rotateByCopyTruncate, rotationPolicy } from "../usage/rotation.ts";
import { PgSink } from "../usage/pg-sink.ts";
import { redactor } from "../usage/redact.ts";
import { Spool } from "../usage/spool.ts";
import { SqliteSink } from "../usage/sqlite-sink.ts";
import { usageDbPath } from "../usage/sqlite-store.ts";
import type { Logger } from "./context.ts";
import type { LiveState } from "../usage/live.ts";
import type { QuotaDesk } from "../quota/desk.ts";
import { join } from "node:path";

const LOG_ROTATE_CHECK_MS = 60_000;

/**
 * Everything issue 5 adds to a running server: the SQLite store, metrics, lane health,
 * the dashboard's recent requests, diagnostics capture and log rotation.
 */
export interface Observability {
  /** Sinks that annotate a record (the capture path): they must run before any sink serialises it. */
  readonly annotators: readonly UsageSink[];
  /** Sinks that only read records. */
  readonly sinks: readonly UsageSink[];
  readonly metrics: MetricsSink;
  readonly health: LaneHealth;
  readonly recent: RecentRequests;
  readonly capture: FileCapture | undefined;
  readonly store: SqliteSink | PgSink | undefined;
  /** Flushes and closes the store, stops timers (after the fan-out sink was flushed). */
  close(): Promise<void>;
}

export function createObservability(config: Config, live: LiveState, log: Logger, quota?: QuotaDesk, cluster?: ClusterGauges): Observability {
  const health = new LaneHealth(Object.keys(config.lanes));
  const metrics = new MetricsSink(
    live,
    health,
    quota,
    config.access.clients.map((c) => c.name),
    cluster,
  );
  const recent = new RecentRequests();
  const store = createStore(config, log);
  if (store instanceof PgSink) metrics.observeStore(store);
  const capture =
    config.capture === "off"
      ? undefined
      : new FileCapture({
          dir: config.captureDir,
          mode: config.capture,
          maxFiles: config.retention.captures,
          secrets: [...Object.values(config.lanes).map((l) => l.key), config.access.key, ...config.access.clients.map((c) => c.key)],
          onError: (e) => log.error(`capture write failed: ${e.message}`),
        });
  if (capture) log.info(`capture on (${config.capture}) into ${config.captureDir}`);

  // The detached server's stdout file (opened by `ccp start` in append mode): rotate it in place.
  const serverLog = instancePaths(config.home, config.port).log;
  const policy = rotationPolicy(config.rotation);
  const rotator = setInterval(() => {
    rotateByCopyTruncate(serverLog, policy).catch((e: Error) => log.warn(`server log rotation failed: ${e.message}`));
  }, LOG_ROTATE_CHECK_MS);
  rotator.unref();

  return {
    annotators: capture ? [capture] : [],
    sinks: [health, metrics, recent, ...(store ? [store] : [])],
    metrics,
    health,
    recent,
    capture,
    store,
    async close() {
      clearInterval(rotator);
      await store?.close();
    },
  };
}

/** Where the buffer of a PostgreSQL store waits while it is unreachable: one file per instance (port) under the state directory. */
export const storeBufferDir = (home: string): string => join(home, "buffer");

/** persist = false: no store (the database is neither opened nor created); a store url: PostgreSQL; else SQLite. */
function createStore(config: Config, log: Logger): SqliteSink | PgSink | undefined {
  if (!config.persist) return undefined;
  const { url, shown } = config.store;
  if (url === undefined || shown === undefined) {
    return new SqliteSink(usageDbPath(config.home), { retentionDays: config.retention.days, onError: (e) => log.error(`usage store write failed: ${e.message}`) });
  }
  const spool = new Spool(storeBufferDir(config.home), `postgres-${config.port}`, config.store.buffer_mb * 1024 * 1024);
  log.info(`usage store: PostgreSQL ${shown}${spool.pending ? ` (${spool.bytes} bytes buffered from an earlier run, to be stored)` : ""}`);
  return new PgSink({ url, shown, spool, log, redact: redactor([config.store.password, url]) });
}
