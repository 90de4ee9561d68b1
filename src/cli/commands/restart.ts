import { missingKeys, missingKeyWarning } from "../../config/lane-keys.ts";
import { loadConfig } from "../../config/load.ts";
import { launchDetached } from "../../ops/launch.ts";
import { readState } from "../../ops/state-file.ts";
import { stopInstance } from "../../ops/stop-instance.ts";
import { ExitError } from "../exit-error.ts";
import { paint, spinner } from "../render.ts";
import { resolveTarget } from "../target.ts";
import { reportLaunch } from "./start.ts";

export interface RestartOptions {
  readonly port?: number;
  readonly profile?: string;
  readonly config?: string;
}

/**
 * Stops the instance and starts it again in this process's environment, so exported
 * variables (MITM_FORCE_H1, lane keys) and an edited config take effect. Options given now
 * win; otherwise those the previous start was given explicitly are kept.
 */
export async function restart(opts: RestartOptions): Promise<void> {
  const target = await resolveTarget({ port: opts.port }, true);
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
