import type { Config } from "../config/config.ts";
import type { Router } from "../routing/router.ts";
import type { LaneRuntime } from "../resilience/lane-runtime.ts";
import type { Capture } from "../usage/capture-hook.ts";
import type { UsageSink } from "../usage/record.ts";
import type { LiveState } from "./live.ts";
import type { SecretFilter } from "./secret-filter.ts";

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
  /** Aborted when ccp stops and the grace period is over: in-flight attempts are cut. */
  readonly shutdown: AbortSignal;
}
