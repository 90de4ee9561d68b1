import type { Config } from "../config/config.ts";
import type { Router } from "../routing/router.ts";
import type { LaneRuntime } from "../resilience/lane-runtime.ts";
import type { Capture } from "../usage/capture-hook.ts";
import type { UsageSink } from "../usage/record.ts";
import type { LiveState } from "../usage/live.ts";
import type { SecretFilter } from "./secret-filter.ts";
import type { QuotaDesk } from "../quota/desk.ts";
import type { Signers } from "../rewrite/signers.ts";
import type { Cluster } from "../cluster/cluster.ts";

/**
 * A value from a client or an upstream as it goes into a `key=value` log line: bare when it is
 * a plain word, else quoted, so a model name such as `x status=200` cannot forge a field.
 */
export const logValue = (v: string | null | undefined): string => (v === null || v === undefined ? "-" : /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v));

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Everything a request handler needs, passed in (no module-level state). */
export interface ServerContext {
  readonly config: Config;
  readonly router: Router;
  /** Lane runtimes by name: transports, HTTP/2 cool-down, concurrency limit. */
  readonly lanes: ReadonlyMap<string, LaneRuntime>;
  /** Where finished usage records go (a FanoutSink of jsonl, SQLite, metrics...). */
  readonly sink: UsageSink;
  readonly live: LiveState;
  /** Diagnostics capture, when configured. */
  readonly capture: Capture | undefined;
  readonly log: Logger;
  /** Milliseconds, monotonic. */
  readonly now: () => number;
  readonly newRid: () => string;
  /** The lanes' keys and the proxy key, kept out of everything a client receives; undefined when there are none. */
  readonly secrets: SecretFilter | undefined;
  /** The same secrets and key-shaped strings, replaced in what ccp logs and records. */
  readonly redact: (text: string) => string;
  /** The plans' quota readings: steering before a request, and what every answer says of its plan. */
  readonly quota: QuotaDesk;
  /** Who signed the thinking blocks ccp passed on (kept from reaching another provider). */
  readonly signers: Signers;
  /** This server's replay key (new at every start): the headers of `ccp replay` need it (replay-control.ts). A secret. */
  readonly replayKey: string;
  /** The fleet this instance shares lanes with ([cluster] redis_url and shared lanes), if any. */
  readonly cluster?: Cluster | undefined;
  /** Aborted when ccp stops and the grace period is over: in-flight attempts are cut. */
  readonly shutdown: AbortSignal;
}
