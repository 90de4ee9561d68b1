import { existsSync, readdirSync, rmSync } from "node:fs";
import { readRegular } from "../config/read-regular.ts";
import { dirname, join } from "node:path";
import { mkdirPrivate, replacePrivate } from "../usage/private-file.ts";
import { instancePaths } from "./paths.ts";
import { asServiceRef, type ServiceRef } from "./service-ref.ts";

/**
 * What `ccp start` launched on one port. Never trusted alone: health is asked over HTTP
 * and the pid is checked before anything is done with it.
 */
export interface InstanceState {
  readonly pid: number;
  readonly port: number;
  readonly host: string;
  /** Resolved profile and config file the instance runs with (for display). */
  readonly profile: string;
  readonly config: string | null;
  readonly started_at: string;
  /** The options the user gave explicitly (config as an absolute path): restart keeps them unless new ones are given. */
  readonly options: { readonly profile?: string; readonly config?: string; readonly host?: string };
  /** A service's ccp (`ccp service install`) writes its own file, naming its manager: stop and restart go through it. */
  readonly managed_by?: ServiceRef;
}

/** Written whole to a new file and renamed into place: never through a link planted at its name, never half-written. */
export function writeState(home: string, state: InstanceState): void {
  const file = instancePaths(home, state.port).state;
  mkdirPrivate(dirname(file));
  replacePrivate(file, `${JSON.stringify(state)}\n`);
}

export function readState(home: string, port: number): InstanceState | undefined {
  return parseState(instancePaths(home, port).state);
}

/**
 * A service's server records itself, since no `ccp start` launched it: `ccp status` and `stop`
 * find it among the instances, and see which manager to go through. Returns what removes it.
 */
export function recordManaged(c: { home: string; host: string; profile: string; source: string | undefined; managed_by?: ServiceRef | undefined }, port: number): () => void {
  if (!c.managed_by) return () => {};
  const { pid } = process;
  writeState(c.home, { pid, port, host: c.host, profile: c.profile, config: c.source ?? null, started_at: new Date().toISOString(), options: {}, managed_by: c.managed_by });
  return () => removeState(c.home, port, pid);
}

/** Removes the port's state file; with `pid`, only if the file still names that process (a newer instance's is kept). */
export function removeState(home: string, port: number, pid?: number): void {
  if (pid !== undefined && readState(home, port)?.pid !== pid) return;
  rmSync(instancePaths(home, port).state, { force: true });
}

/** Every state file under $CCP_HOME/run, oldest port first. */
export function listStates(home: string): InstanceState[] {
  const dir = join(home, "run");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^ccp-\d+\.json$/.test(f))
    .map((f) => parseState(join(dir, f)))
    .filter((s): s is InstanceState => s !== undefined)
    .sort((a, b) => a.port - b.port);
}

function parseState(file: string): InstanceState | undefined {
  try {
    const raw = JSON.parse(readRegular(file)) as Partial<InstanceState>;
    if (typeof raw.pid !== "number" || typeof raw.port !== "number") return undefined;
    const managed = asServiceRef(raw.managed_by);
    return {
      pid: raw.pid,
      port: raw.port,
      host: raw.host ?? "127.0.0.1",
      profile: raw.profile ?? "default",
      config: raw.config ?? null,
      started_at: raw.started_at ?? "",
      options: raw.options ?? {},
      ...(managed ? { managed_by: managed } : {}),
    };
  } catch {
    return undefined;
  }
}
