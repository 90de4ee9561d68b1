import { isAbsolute, join } from "node:path";
import type { Config } from "../config/config.ts";
import type { Env } from "../config/env.ts";
import { HEAP_HINT_BYTES, HEAP_HINT_VAR } from "./heap-hint.ts";
import { instancePaths } from "./paths.ts";
import { formatServiceRef, SERVICE_ENV, serviceName, type ServiceManager, type ServiceRef } from "./service-ref.ts";

/** What a service runs and how, whichever manager runs it. Pure data: the generators write it out. */
export interface ServiceSpec {
  readonly ref: ServiceRef;
  /** One line saying what it is (systemd's Description). */
  readonly description: string;
  /** The executable (absolute) and its arguments: `ccp start --foreground ...`. */
  readonly argv: readonly string[];
  /** The environment ccp reads, written into the unit or plist: never a secret. */
  readonly env: Readonly<Record<string, string>>;
  /** NAME=value lines read at start when the file exists: where the service's secrets go (lane keys, the proxy key). */
  readonly envFile: string;
  /** launchd: the file its stdout and stderr go to (systemd logs to the journal). */
  readonly log: string | undefined;
}

/** Where a profile's service lives: its name, and the unit or plist file. */
export interface ServiceLocation {
  readonly ref: ServiceRef;
  readonly file: string;
}

export function serviceLocation(manager: ServiceManager, profile: string, env: Pick<Env, "configHome" | "userHome">): ServiceLocation {
  const name = serviceName(manager, profile);
  return { ref: { manager, name }, file: serviceFile({ manager, name }, env) };
}

/** A service's unit file (`$XDG_CONFIG_HOME/systemd/user/<name>`) or agent plist (`~/Library/LaunchAgents/<label>.plist`). */
export function serviceFile(ref: ServiceRef, env: Pick<Env, "configHome" | "userHome">): string {
  return ref.manager === "systemd" ? join(env.configHome, "systemd", "user", ref.name) : join(env.userHome, "Library", "LaunchAgents", `${ref.name}.plist`);
}

/** The file the service's secrets go in (the same for every profile and both managers). */
export const serviceEnvFile = (env: Pick<Env, "configHome">): string => join(env.configHome, "ccp", "service.env");

/** The variables of this environment a service keeps (settings, never secrets); the heap hint is added. */
const KEPT = ["CCP_PERSIST", "CCP_CAPTURE_DIR", "MITM_FORCE_H1", HEAP_HINT_VAR] as const;

/**
 * The service of a config: `<exec> start --foreground` on the config's port, profile, file and
 * host, with the environment a detached start gives its server (the heap hint; ccp's own settings
 * from this shell) minus secrets, which the service reads from `envFile`.
 */
export function serviceSpec(o: { manager: ServiceManager; config: Config; env: Env; exec: readonly string[] }): ServiceSpec {
  const { config, env } = o;
  if (!isAbsolute(o.exec[0] ?? "")) throw new Error(`the service's executable must be an absolute path, not ${JSON.stringify(o.exec[0])}`);
  const ref = { manager: o.manager, name: serviceName(o.manager, config.profile) };
  const args = ["start", "--foreground", "--port", String(config.port), "--profile", config.profile];
  if (config.source) args.push("--config", config.source);
  if (config.host !== "127.0.0.1") args.push("--host", config.host);
  const vars: Record<string, string> = { [SERVICE_ENV]: formatServiceRef(ref), CCP_HOME: config.home };
  for (const k of KEPT) {
    const v = env.all[k];
    if (v) vars[k] = v;
  }
  vars[HEAP_HINT_VAR] ??= String(HEAP_HINT_BYTES);
  return {
    ref,
    description: `ccp, the local gateway for Claude Code (profile ${config.profile}, port ${config.port})`,
    argv: [...o.exec, ...args],
    env: vars,
    envFile: serviceEnvFile(env),
    log: o.manager === "launchd" ? instancePaths(config.home, config.port).log : undefined,
  };
}

/** The variables holding secrets the service's config needs: each lane's key_env, and the proxy key's when one is set or required. */
export function secretVariables(config: Config): string[] {
  const names = Object.values(config.lanes)
    .filter((l) => l.auth === "key" && l.key_env)
    .map((l) => l.key_env!);
  if (config.access.key_set || config.access.key_required) names.push(config.access.key_env);
  return [...new Set(names)];
}

/** Which of `names` an env file (NAME=value lines, `export` allowed) does not set. */
export function missingFromEnvFile(text: string | undefined, names: readonly string[]): string[] {
  const set = new Set([...(text ?? "").matchAll(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!));
  return names.filter((n) => !set.has(n));
}
