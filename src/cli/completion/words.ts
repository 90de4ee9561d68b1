import { readEnv } from "../../config/env.ts";
import { DEFAULT_PROFILE } from "../../config/load.ts";
import { readRegular } from "../../config/read-regular.ts";
import { isHealthy } from "../../ops/health.ts";
import { pidAlive } from "../../ops/process.ts";
import { listStates } from "../../ops/state-file.ts";

/**
 * The words completion asks ccp for while the user types (`ccp completion --words <kind>`): they
 * change between two presses of Tab, so no script could hold them. Each is quick and quiet:
 * anything unreadable yields fewer words, never an error.
 */

/** Ports of the instances running now, as `ccp status` finds them: a state file under $CCP_HOME/run, its process alive, /healthz answering. */
export async function runningPorts(home = readEnv().home): Promise<number[]> {
  const states = listStates(home).filter((s) => pidAlive(s.pid));
  const healthy = await Promise.all(states.map((s) => isHealthy(s.host, s.port, 500)));
  return states.filter((_, i) => healthy[i]).map((s) => s.port);
}

/**
 * A profile name completion offers: plain words only. A config file may come from anywhere (a
 * repository's, typed after --config), and what completion prints a shell reads back.
 */
const PLAIN_PROFILE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The profiles a config file defines ([profiles.<name>]), after the default one every config has; a pipe or device is not read. */
export function profileNames(file: string | undefined): string[] {
  const env = readEnv();
  const path = file ?? env.configFile ?? env.defaultConfigFile;
  try {
    const raw = Bun.TOML.parse(readRegular(path)) as { profiles?: unknown };
    const defined = raw.profiles && typeof raw.profiles === "object" ? Object.keys(raw.profiles) : [];
    return [DEFAULT_PROFILE, ...defined.filter((p) => p !== DEFAULT_PROFILE && PLAIN_PROFILE.test(p))];
  } catch {
    return [DEFAULT_PROFILE];
  }
}
