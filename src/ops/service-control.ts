import type { ServiceRef } from "./service-ref.ts";
import { failureText, type Runner, systemRunner } from "./service-runner.ts";

/**
 * The service manager's commands for a ccp service: systemd's `systemctl --user` and launchd's
 * `launchctl` in the user's GUI domain (`gui/<uid>`). Each step runs through the injected runner.
 */
export interface ServiceDeps {
  readonly runner: Runner;
  /** launchd's domain is the user's: gui/<uid>. */
  readonly uid: number;
}

/** The real manager, in this user's launchd domain; tests pass their own runner. */
export const systemDeps = (): ServiceDeps => ({ runner: systemRunner, uid: process.getuid?.() ?? 0 });

const systemctl = (...args: string[]) => ["systemctl", "--user", ...args];
const domain = (deps: ServiceDeps) => `gui/${deps.uid}`;
const target = (deps: ServiceDeps, ref: ServiceRef) => `${domain(deps)}/${ref.name}`;

/** Runs the steps in order; the first failure stops them and is returned as one line. */
async function steps(deps: ServiceDeps, argvs: readonly string[][]): Promise<string | undefined> {
  for (const argv of argvs) {
    const r = await deps.runner(argv);
    if (r.code !== 0) return failureText(argv, r);
  }
  return undefined;
}

/** Loads a freshly written unit or plist and starts it now and at every login; `replacing`: an older one may be loaded. */
export async function activate(ref: ServiceRef, file: string, deps: ServiceDeps, replacing: boolean): Promise<string | undefined> {
  if (ref.manager === "systemd") {
    const start = replacing ? [systemctl("enable", ref.name), systemctl("restart", ref.name)] : [systemctl("enable", "--now", ref.name)];
    return steps(deps, [systemctl("daemon-reload"), ...start]);
  }
  // An agent already loaded keeps its old definition until booted out (it may not be loaded: no matter).
  if (replacing) await deps.runner(["launchctl", "bootout", target(deps, ref)]);
  return steps(deps, [
    ["launchctl", "enable", target(deps, ref)],
    ["launchctl", "bootstrap", domain(deps), file],
  ]);
}

/** Stops it and keeps it from starting again, before its file is removed; what went wrong, if anything. */
export async function deactivate(ref: ServiceRef, deps: ServiceDeps): Promise<string | undefined> {
  if (ref.manager === "systemd") return steps(deps, [systemctl("disable", "--now", ref.name)]);
  // Not loaded (stopped with ccp stop, or never started): nothing to boot out.
  if (!(await loaded(ref, deps))) return undefined;
  return steps(deps, [["launchctl", "bootout", target(deps, ref)]]);
}

const loaded = async (ref: ServiceRef, deps: ServiceDeps) => (await deps.runner(["launchctl", "print", target(deps, ref)])).code === 0;

/** After the unit file is gone: systemd forgets it. */
export async function forget(ref: ServiceRef, deps: ServiceDeps): Promise<string | undefined> {
  return ref.manager === "systemd" ? steps(deps, [systemctl("daemon-reload")]) : undefined;
}

export interface ManagerView {
  /** Will start at login: systemd `enabled`; launchd loaded in the user's domain. */
  readonly enabled: boolean;
  /** Its process runs: systemd `active`; launchd `state = running`. */
  readonly running: boolean;
  /** The manager's own words: systemd's is-enabled and is-active answers, launchd's state. */
  readonly detail: string;
  /** The manager could not be asked (no user session, no systemctl): why. */
  readonly problem: string | undefined;
}

export async function inspect(ref: ServiceRef, deps: ServiceDeps): Promise<ManagerView> {
  if (ref.manager === "systemd") {
    const enabled = await deps.runner(systemctl("is-enabled", ref.name));
    const active = await deps.runner(systemctl("is-active", ref.name));
    const words = [enabled.stdout.trim().split("\n")[0] || "unknown", active.stdout.trim().split("\n")[0] || "unknown"];
    // is-enabled / is-active exit non-zero for "disabled" / "inactive" too; only an empty answer means no manager.
    const problem = words.includes("unknown") ? failureText(systemctl("is-active", ref.name), active) : undefined;
    return { enabled: words[0] === "enabled", running: words[1] === "active", detail: `${words[0]}, ${words[1]}`, problem };
  }
  const r = await deps.runner(["launchctl", "print", target(deps, ref)]);
  if (r.code !== 0) return { enabled: false, running: false, detail: "not loaded", problem: r.code === 127 ? failureText(["launchctl"], r) : undefined };
  const state = /^\s*state = (\S+)/m.exec(r.stdout)?.[1] ?? "unknown";
  return { enabled: true, running: state === "running", detail: `loaded, ${state}`, problem: undefined };
}

/** Stops a service-managed ccp so that it stays stopped (systemd: until started or the next login; launchd: booted out until the next login). */
export function stopManaged(ref: ServiceRef, deps: ServiceDeps): Promise<string | undefined> {
  return steps(deps, [ref.manager === "systemd" ? systemctl("stop", ref.name) : ["launchctl", "bootout", target(deps, ref)]]);
}

/** Restarts it through its manager; a launchd agent booted out by `ccp stop` is loaded again from its plist (`file`). */
export async function restartManaged(ref: ServiceRef, file: string, deps: ServiceDeps): Promise<string | undefined> {
  if (ref.manager === "systemd") return steps(deps, [systemctl("restart", ref.name)]);
  return steps(deps, [(await loaded(ref, deps)) ? ["launchctl", "kickstart", "-k", target(deps, ref)] : ["launchctl", "bootstrap", domain(deps), file]]);
}
