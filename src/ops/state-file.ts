import { existsSync, readdirSync, rmSync } from "node:fs";
import { readRegular } from "../config/read-regular.ts";
import { dirname, join } from "node:path";
import { mkdirPrivate, replacePrivate } from "../usage/private-file.ts";
import { instancePaths } from "./paths.ts";

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
    return {
      pid: raw.pid,
      port: raw.port,
      host: raw.host ?? "127.0.0.1",
      profile: raw.profile ?? "default",
      config: raw.config ?? null,
      started_at: raw.started_at ?? "",
      options: raw.options ?? {},
    };
  } catch {
    return undefined;
  }
}
