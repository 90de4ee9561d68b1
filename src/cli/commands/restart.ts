import { missingKeys, missingKeyWarning } from "../../config/lane-keys.ts";
import { readEnv } from "../../config/env.ts";
import { loadConfig } from "../../config/load.ts";
import { launchDetached } from "../../ops/launch.ts";
import { askStatus } from "../../ops/instance.ts";
import { managerOfInstance, waitRestarted } from "../../ops/managed.ts";
import { restartManaged, type ServiceDeps, systemDeps } from "../../ops/service-control.ts";
import { managerOf, type ServiceRef } from "../../ops/service-ref.ts";
import { installedServiceOn } from "../../ops/service-install.ts";
import { serviceFile } from "../../ops/service-spec.ts";
import { readState } from "../../ops/state-file.ts";
import { stopInstance } from "../../ops/stop-instance.ts";
import { ExitError } from "../exit-error.ts";
import { paint, spinner } from "../render.ts";
import { resolveTarget, type Target } from "../target.ts";
import { reportLaunch } from "./start.ts";
import { managerCommand } from "./stop.ts";

export interface RestartOptions {
  readonly port?: number;
  readonly profile?: string;
  readonly config?: string;
}

/**
 * Stops the instance and starts it again in this process's environment, so exported
 * variables (MITM_FORCE_H1, lane keys) and an edited config take effect. Options given now
 * win; otherwise those the previous start was given explicitly are kept. A service's ccp is
 * restarted by its manager instead (its options and environment are the unit's or plist's).
 */
export async function restart(opts: RestartOptions, deps = systemDeps()): Promise<void> {
  const target = await resolveTarget({ port: opts.port }, true);
  // A service stopped by ccp stop is still the service's: it starts again through its manager.
  const env = readEnv();
  const platform = managerOf(process.platform);
  const managed = (await managerOfInstance(target.home, target.host, target.port)) ?? (platform && installedServiceOn(platform, target.port, env));
  if (managed) return restartService(target, managed, opts, deps);
  const previous = readState(target.home, target.port);
  const given = { profile: opts.profile ?? previous?.options.profile, config: opts.config ?? previous?.options.config, host: previous?.options.host };
  // Validate before stopping anything: a typo must not leave the user with no proxy.
  const config = loadConfig({ file: given.config, profile: given.profile, port: target.port, host: given.host });
  const options = { ...given, config: given.config === undefined ? undefined : (config.source ?? undefined) };
  if (config.port === 0) throw new ExitError(2, "restart needs a real port", "ccp restart 8082");

  const stopped = await stopInstance(target.home, target.host, target.port);
  if (stopped.kind === "failed") throw new ExitError(1, `could not stop ccp on port ${target.port}: ${stopped.message}`, "stop it by its pid, then ccp start");
  if (stopped.kind === "stopped") console.log(`stopped ccp on port ${target.port} (pid ${stopped.pid})`);
  else console.log(`no ccp was running on port ${target.port}${stopped.staleStateRemoved ? " (removed a stale pid file)" : ""}; starting one`);

  for (const missing of missingKeys(config)) console.error(paint.warn(missingKeyWarning(missing)));
  const wait = spinner(`starting ccp on port ${config.port}`);
  const result = await launchDetached({ config, options }).finally(() => wait.stop());
  reportLaunch(result, config.port, config.host);
}

async function restartService(target: Target, ref: ServiceRef, opts: RestartOptions, deps: ServiceDeps): Promise<void> {
  if (opts.profile !== undefined || opts.config !== undefined) {
    throw new ExitError(
      2,
      `the ccp on port ${target.port} is run by ${ref.name}, whose options are in its ${ref.manager === "systemd" ? "unit" : "plist"}`,
      "change them with ccp service install --force --profile P --config FILE",
    );
  }
  const answer = await askStatus(target.host, target.port);
  const before = answer.kind === "running" ? answer.body : undefined;
  // The config it will read again is checked first: a typo must not leave the service failing.
  if (before) loadConfig({ file: before.config ?? undefined, profile: before.profile, port: target.port });
  const wait = spinner(`restarting ${ref.name}`);
  try {
    const failed = await restartManaged(ref, serviceFile(ref, readEnv()), deps);
    if (failed) throw new ExitError(1, `could not restart ${ref.name}, which runs ccp on port ${target.port}: ${failed}`, `try ${managerCommand(ref, "restart")}`);
    const pid = await waitRestarted(target.host, target.port, before?.pid ?? readState(target.home, target.port)?.pid, 30_000);
    if (pid === undefined)
      throw new ExitError(
        1,
        `${ref.name} was restarted, but no new ccp answers on port ${target.port}`,
        ref.manager === "systemd" ? `journalctl --user -u ${ref.name} says why` : "its log (ccp service status) says why",
      );
    console.log(`${paint.ok("restarted")} ccp on port ${target.port} through ${ref.manager} (${ref.name}${typeof pid === "number" ? `, pid ${pid}` : ""})`);
  } finally {
    wait.stop();
  }
}
