import type { Config } from "../config/config.ts";
import type { Router } from "../routing/router.ts";
import type { Transport } from "../upstream/transport.ts";
import type { UsageSink } from "../usage/record.ts";

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Everything a request handler needs, passed in (no module-level state). */
export interface ServerContext {
  readonly config: Config;
  readonly router: Router;
  readonly transports: ReadonlyMap<string, Transport>;
  readonly sink: UsageSink;
  readonly log: Logger;
  /** Milliseconds, monotonic. */
  readonly now: () => number;
  readonly newRid: () => string;
}
