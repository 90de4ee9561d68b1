import type { Config } from "../config/config.ts";
import { readEnv } from "../config/env.ts";
import { ConfigError, loadConfig } from "../config/load.ts";
import { choosePort } from "../ops/instance.ts";
import { readState } from "../ops/state-file.ts";
import { ExitError } from "./exit-error.ts";

export interface TargetOptions {
  readonly port?: number | undefined;
  readonly profile?: string | undefined;
  readonly config?: string | undefined;
}

/** The instance a command talks to, and the config it was resolved with (undefined if unreadable). */
export interface Target {
  readonly host: string;
  readonly port: number;
  readonly home: string;
  readonly config: Config | undefined;
}

/** One instance, or several running and no --port to choose between them. */
export type Resolution = { readonly kind: "one"; readonly target: Target } | { readonly kind: "several"; readonly ports: readonly number[] };

/**
 * Resolves --port (or the positional port) to one instance. With `tolerant`, a broken
 * config does not stop the command (stop and status must work whatever the file says).
 */
export async function resolveTarget(opts: TargetOptions, tolerant = false): Promise<Target> {
  const r = await resolveInstance(opts, tolerant);
  if (r.kind === "several") {
    throw new ExitError(2, `several ccp instances are running (ports ${r.ports.join(", ")})`, `choose one with --port, e.g. --port ${r.ports[0]}`);
  }
  return r.target;
}

/** resolveTarget for a command that has something to say when several instances run. */
export async function resolveInstance(opts: TargetOptions, tolerant = false): Promise<Resolution> {
  let config: Config | undefined;
  try {
    config = loadConfig({ file: opts.config, profile: opts.profile });
  } catch (e) {
    if (!(tolerant && e instanceof ConfigError)) throw e;
  }
  const home = config?.home ?? readEnv().home;
  const choice = await choosePort({ explicit: opts.port, home, host: config?.host ?? "127.0.0.1", configPort: config?.port ?? 8082 });
  if (choice.kind === "ambiguous") return { kind: "several", ports: choice.ports };
  // An instance started with --host listens there, whatever the config says now.
  const host = readState(home, choice.port)?.host ?? config?.host ?? "127.0.0.1";
  return { kind: "one", target: { host, port: choice.port, home, config } };
}

/** A positional port and --port mean the same; giving both differently is a mistake. */
export function portArg(positional: string | undefined, option: number | undefined, command: string): number | undefined {
  if (positional === undefined) return option;
  const n = Number(positional);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new ExitError(2, `"${positional}" is not a port number`, `give a port between 1 and 65535, e.g. ccp ${command} 8082`);
  if (option !== undefined && option !== n) throw new ExitError(2, `port given twice (${n} and ${option})`, "give the port once");
  return n;
}
