import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { activate, deactivate, forget, inspect, type ManagerView, type ServiceDeps } from "./service-control.ts";
import { xmlUnescape } from "./launchd-plist.ts";
import type { Env } from "../config/env.ts";
import type { ServiceManager, ServiceRef } from "./service-ref.ts";
import { serviceFile, type ServiceLocation } from "./service-spec.ts";

/**
 * Installing a ccp service is writing one file (a unit or a plist) and asking the manager to
 * load and start it; uninstalling is the reverse. Nothing else is written: a failed install puts
 * back what was there before (no file, or the one --force was replacing).
 */
export type InstallResult =
  | { readonly ok: true; readonly replaced: boolean }
  | { readonly ok: false; readonly reason: "exists" }
  | { readonly ok: false; readonly reason: "manager"; readonly message: string };

const readIfExists = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : undefined);

/** Written whole beside its final name and renamed into place: never half a unit, never through a planted link at the temporary name. */
function writeWhole(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644, flag: "wx" });
  // The umask may have narrowed it; systemd and launchd read it as the user anyway, but keep it as documented.
  chmodSync(tmp, 0o644);
  renameSync(tmp, file);
}

/** Removes `dir` and its parents while they are empty, stopping at `floor` (never removed). */
function removeEmptyDirs(dir: string, floor: string): void {
  for (let d = dir; d.startsWith(`${floor}/`) && existsSync(d) && readdirSync(d).length === 0; d = dirname(d)) rmdirSync(d);
}

export async function installService(o: { loc: ServiceLocation; text: string; force: boolean; deps: ServiceDeps; floor: string }): Promise<InstallResult> {
  const { loc } = o;
  const previous = readIfExists(loc.file);
  if (previous !== undefined && !o.force) return { ok: false, reason: "exists" };
  writeWhole(loc.file, o.text);
  const failed = await activate(loc.ref, loc.file, o.deps, previous !== undefined);
  if (failed === undefined) return { ok: true, replaced: previous !== undefined };
  if (previous === undefined) {
    rmSync(loc.file, { force: true });
    await forget(loc.ref, o.deps);
    removeEmptyDirs(dirname(loc.file), o.floor);
  } else writeWhole(loc.file, previous);
  return { ok: false, reason: "manager", message: failed };
}

/** The line every file `ccp service install` writes carries: uninstall removes no other. */
export const WRITTEN_BY = "Written by ccp service install";

export interface UninstallResult {
  readonly removed: boolean;
  /** The file is there but ccp did not write it (no WRITTEN_BY line): left alone unless forced. */
  readonly foreign?: boolean;
  /** What the manager said when stopping or forgetting it failed (the file is removed all the same). */
  readonly warnings: readonly string[];
}

export async function uninstallService(o: { loc: ServiceLocation; deps: ServiceDeps; floor: string; force?: boolean }): Promise<UninstallResult> {
  const { loc } = o;
  if (!existsSync(loc.file)) return { removed: false, warnings: [] };
  if (!o.force && !(readIfExists(loc.file) ?? "").includes(WRITTEN_BY)) return { removed: false, foreign: true, warnings: [] };
  const warnings: string[] = [];
  const stopped = await deactivate(loc.ref, o.deps);
  if (stopped) warnings.push(stopped);
  rmSync(loc.file, { force: true });
  const forgot = await forget(loc.ref, o.deps);
  if (forgot) warnings.push(forgot);
  removeEmptyDirs(dirname(loc.file), o.floor);
  return { removed: true, warnings };
}

export interface ServiceState extends ManagerView {
  readonly installed: boolean;
  /** Where it listens, as its file says (`--port`, `--host`). */
  readonly port: number | undefined;
  readonly host: string;
  /** launchd: the file it logs to (StandardOutPath); systemd logs to the journal. */
  readonly log: string | undefined;
}

/** The ExecStart line or ProgramArguments strings give the option's value after it. */
export function optionIn(text: string, option: string): string | undefined {
  return new RegExp(`${option}(?:</string>\\s*<string>|\\s+)"?([^\\s"<]+)`).exec(text)?.[1];
}

/** The installed service (of `manager`) whose file says it listens on `port`, if any: a stopped service is still restarted through its manager. */
export function installedServiceOn(manager: ServiceManager, port: number, env: Pick<Env, "configHome" | "userHome">): ServiceRef | undefined {
  const dir = dirname(serviceFile({ manager, name: "x" }, env));
  const pattern = manager === "systemd" ? /^(ccp(?:-[A-Za-z0-9_-]+)?\.service)$/ : /^(local\.ccp(?:\.[A-Za-z0-9_-]+)?)\.plist$/;
  if (!existsSync(dir)) return undefined;
  for (const f of readdirSync(dir)) {
    const name = pattern.exec(f)?.[1];
    const text = name ? (readIfExists(join(dir, f)) ?? "") : "";
    if (name && text.includes(WRITTEN_BY) && optionIn(text, "--port") === String(port)) return { manager, name };
  }
  return undefined;
}

export async function serviceState(loc: ServiceLocation, deps: ServiceDeps): Promise<ServiceState> {
  const text = readIfExists(loc.file);
  if (text === undefined) return { installed: false, enabled: false, running: false, detail: "not installed", problem: undefined, port: undefined, host: "127.0.0.1", log: undefined };
  const port = Number(optionIn(text, "--port"));
  const log = /<key>StandardOutPath<\/key>\s*<string>([^<]*)<\/string>/.exec(text)?.[1];
  return {
    installed: true,
    ...(await inspect(loc.ref, deps)),
    port: Number.isInteger(port) && port > 0 ? port : undefined,
    host: optionIn(text, "--host") ?? "127.0.0.1",
    log: log === undefined ? undefined : xmlUnescape(log),
  };
}
