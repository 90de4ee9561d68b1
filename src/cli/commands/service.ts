import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import pkg from "../../../package.json" with { type: "json" };
import { exposureProblem } from "../../config/access.ts";
import type { Config } from "../../config/config.ts";
import { readEnv, type Env } from "../../config/env.ts";
import { DEFAULT_PROFILE, loadConfig } from "../../config/load.ts";
import { isHealthy, isPortBusy } from "../../ops/health.ts";
import { askStatus } from "../../ops/instance.ts";
import { launchdPlist } from "../../ops/launchd-plist.ts";
import { instanceUrl } from "../../ops/local-http.ts";
import { waitRestarted } from "../../ops/managed.ts";
import { serviceCommand } from "../../ops/self.ts";
import { systemDeps } from "../../ops/service-control.ts";
import { installService, serviceState, uninstallService, WRITTEN_BY } from "../../ops/service-install.ts";
import { logHint, managerOf, profileProblem, type ServiceManager } from "../../ops/service-ref.ts";
import { missingFromEnvFile, secretVariables, serviceLocation, serviceSpec, type ServiceLocation, type ServiceSpec } from "../../ops/service-spec.ts";
import { prepareStateDir } from "../../ops/state-dir.ts";
import { systemdUnit } from "../../ops/systemd-unit.ts";
import { ExitError } from "../exit-error.ts";
import { out, paint, spinner } from "../render.ts";
import { NOT_RUNNING_EXIT } from "./status.ts";

export interface ServiceInstallOptions {
  readonly port?: number;
  readonly profile?: string;
  readonly config?: string;
  readonly force?: boolean;
}

export interface ServiceOptions {
  readonly profile?: string;
  readonly json?: boolean;
  /** uninstall: remove a unit or agent ccp did not write too. */
  readonly force?: boolean;
}

function manager(): ServiceManager {
  const m = managerOf(process.platform);
  if (!m) throw new ExitError(1, `ccp service knows systemd (Linux) and launchd (macOS), not ${process.platform}`, "run ccp start --foreground under this system's own service manager");
  return m;
}

/**
 * Where emptied directories stop being removed: LaunchAgents itself for plists; for units, the
 * home directory (an install may have created ~/.config/systemd/user), else $XDG_CONFIG_HOME.
 */
function floorOf(loc: ServiceLocation, env: Env): string {
  if (loc.ref.manager === "launchd") return dirname(loc.file);
  return env.configHome.startsWith(`${env.userHome}/`) ? env.userHome : env.configHome;
}
const profileFlag = (profile: string) => (profile === DEFAULT_PROFILE ? "" : ` --profile ${profile}`);

function checkProfile(profile: string): void {
  const problem = profileProblem(profile);
  if (problem) throw new ExitError(2, problem, "install it for a profile named with letters, digits, - and _");
}

export async function serviceInstall(opts: ServiceInstallOptions, deps = systemDeps()): Promise<void> {
  const env = readEnv();
  const config = loadConfig({ file: opts.config, profile: opts.profile, port: opts.port });
  checkProfile(config.profile);
  if (config.port === 0) throw new ExitError(2, "a service needs a real port, not 0", "ccp service install --port 8082");
  const exposure = exposureProblem(config);
  if (exposure) throw new ExitError(2, exposure.message, exposure.hint);
  const m = manager();
  const loc = serviceLocation(m, config.profile, env);
  if (existsSync(loc.file) && !opts.force) {
    throw new ExitError(
      2,
      `${loc.ref.name} is already installed: ${loc.file}`,
      `replace it: ccp service install --force (with the options you want), or remove it: ccp service uninstall${profileFlag(config.profile)}`,
    );
  }
  const oldPid = await refuseTakenPort(config, loc, opts.force === true);
  // launchd opens the log under the state directory before ccp runs: it must exist, and be safe.
  const unsafeHome = m === "launchd" ? prepareStateDir(config) : undefined;
  if (unsafeHome) throw new ExitError(2, unsafeHome.message, unsafeHome.hint);

  const spec = serviceSpec({ manager: m, config, env, exec: serviceCommand() });
  const header = [
    `${WRITTEN_BY} (ccp ${pkg.version}); ccp service uninstall${profileFlag(config.profile)} removes it.`,
    `Secrets (lane keys, the proxy key) go in ${spec.envFile} as NAME=value lines, never here.`,
  ].join("\n");
  const text = writable(() => (m === "systemd" ? systemdUnit(spec, header) : launchdPlist(spec, header)));
  const result = await installService({ loc, text, force: opts.force === true, deps, floor: floorOf(loc, env) });
  if (!result.ok) {
    if (result.reason === "exists") throw new ExitError(2, `${loc.ref.name} is already installed: ${loc.file}`, "ccp service install --force replaces it");
    throw new ExitError(1, `could not enable ${loc.ref.name}, so it was not installed: ${result.message}`, managerHint(m));
  }
  for (const w of secretWarnings(config, spec)) console.error(paint.warn(w));
  printInstalled(spec, loc, config, result.replaced);
  // Readiness is an answer over HTTP, as for ccp start; a slow one is not a failed install.
  const wait = spinner(`waiting for ${loc.ref.name} to answer on port ${config.port}`);
  const pid = await waitRestarted(config.host, config.port, oldPid, READY_MS).finally(() => wait.stop());
  if (pid === undefined) console.error(paint.warn(`${loc.ref.name} does not answer on port ${config.port} yet; its log says why: ${logHint(spec.ref, spec.log)}`));
  else console.log(`running    ${instanceUrl(config.host, config.port)}${typeof pid === "number" ? ` (pid ${pid})` : ""}`);
}

const READY_MS = 20_000;

/** A path the unit or plist cannot carry (a quote in the executable's, a control character) stops the install, saying which. */
function writable(generate: () => string): string {
  try {
    return generate();
  } catch (e) {
    throw new ExitError(1, (e as Error).message, "move ccp (or the file named) to a path without quotes, backslashes or control characters");
  }
}

/** A port another ccp (or program) holds would make the service fail at every start; its own (a --force reinstall) is no obstacle. */
async function refuseTakenPort(config: Config, loc: ServiceLocation, force: boolean): Promise<number | undefined> {
  const answer = await askStatus(config.host, config.port);
  if (answer.kind === "running" && answer.body.managed_by?.name === loc.ref.name) return answer.body.pid;
  // A keyed ccp keeps its status for the key holder: when replacing, it may well be this service.
  if (answer.kind === "needs-key" && force) return undefined;
  const hint = `stop it first (ccp stop ${config.port}), or give the service another port: ccp service install --port <N>`;
  if (answer.kind !== "none") throw new ExitError(1, `a ccp not run by ${loc.ref.name} is running on port ${config.port}`, hint);
  if (await isPortBusy(config.host, config.port)) throw new ExitError(1, `port ${config.port} on ${config.host} is in use by another program`, hint);
  return undefined;
}

function managerHint(m: ServiceManager): string {
  return m === "systemd"
    ? "systemctl --user needs your user's systemd (a login session; loginctl enable-linger $USER keeps it running without one); systemctl --user status says more"
    : "launchctl needs your GUI session (gui/<uid>): install from a terminal of the logged-in user";
}

/** The service gets none of this shell's secrets: each one its config needs and its env file lacks is named. */
function secretWarnings(config: Config, spec: ServiceSpec): string[] {
  const text = existsSync(spec.envFile) ? readFileSync(spec.envFile, "utf8") : undefined;
  return missingFromEnvFile(text, secretVariables(config)).map((v) => `the service does not get this shell's environment: put ${v}=… in ${spec.envFile} (chmod 600), then ccp restart ${config.port}`);
}

function printInstalled(spec: ServiceSpec, loc: ServiceLocation, config: Config, replaced: boolean): void {
  const how = spec.ref.manager === "systemd" ? "systemctl --user" : "launchctl";
  console.log(`${paint.ok(replaced ? "replaced" : "installed")} ${spec.ref.name}: ${loc.file}`);
  console.log(`runs       ${spec.argv.join(" ")}`);
  console.log(`starts     now, at every login, and again after a crash (${how})`);
  console.log(`logs       ${logHint(spec.ref, spec.log)}`);
  console.log(`secrets    ${spec.envFile} (NAME=value lines, read at each start; optional)`);
  console.log(`control    ccp status / ccp stop ${config.port} / ccp restart ${config.port} (through ${how}); ccp service uninstall${profileFlag(config.profile)}`);
}

export async function serviceUninstall(opts: ServiceOptions, deps = systemDeps()): Promise<void> {
  const env = readEnv();
  const profile = opts.profile ?? env.profile ?? DEFAULT_PROFILE;
  checkProfile(profile);
  const loc = serviceLocation(manager(), profile, env);
  const result = await uninstallService({ loc, deps, floor: floorOf(loc, env), force: opts.force === true });
  if (result.foreign) {
    throw new ExitError(1, `${loc.file} was not written by ccp service install; it is left as it is`, "remove it yourself, or: ccp service uninstall --force");
  }
  if (!result.removed) {
    console.log(`no ccp service is installed for profile ${profile} (${loc.file} does not exist); nothing to remove`);
    return;
  }
  for (const w of result.warnings) console.error(paint.warn(`${w} (the file is removed all the same)`));
  console.log(`${paint.ok("removed")} ${loc.ref.name}: ${loc.file}`);
}

export async function serviceStatus(opts: ServiceOptions, deps = systemDeps()): Promise<void> {
  const env = readEnv();
  const profile = opts.profile ?? env.profile ?? DEFAULT_PROFILE;
  checkProfile(profile);
  const loc = serviceLocation(manager(), profile, env);
  const state = await serviceState(loc, deps);
  const healthy = state.port !== undefined && (await isHealthy(state.host, state.port));
  const logs = state.installed ? logHint(loc.ref, state.log) : null;
  if (!(state.installed && state.running)) process.exitCode = NOT_RUNNING_EXIT;
  if (opts.json) {
    const { manager: m, name } = loc.ref;
    console.log(JSON.stringify({ manager: m, name, file: loc.file, ...state, healthy, logs }, null, 2));
    return;
  }
  if (!state.installed) {
    console.log(`no ccp service is installed for profile ${profile} (${loc.file}); ccp service install${profileFlag(profile)} installs one`);
    return;
  }
  const yes = (b: boolean, y: string, n: string) => (b ? out.ok(y) : out.bad(n));
  console.log(`${loc.ref.name}  ${loc.file}`);
  console.log(`installed  yes`);
  console.log(`enabled    ${yes(state.enabled, "yes", "no")}`);
  console.log(`running    ${yes(state.running, "yes", "no")}  (${state.detail})${state.port ? `, port ${state.port}: ${healthy ? "healthy" : "not answering"}` : ""}`);
  console.log(`logs       ${logs}`);
  if (state.problem) console.error(paint.warn(`the service manager could not be asked: ${state.problem}`));
}
