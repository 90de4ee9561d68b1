import { join, sep } from "node:path";
import { readEnv } from "../config/env.ts";
import { loadConfig } from "../config/load.ts";
import { RotationSchema } from "../config/schema.ts";
import type { StoreSettings } from "../config/store.ts";
import { fetchStatus } from "../ops/instance.ts";
import { usageLogPath } from "../usage/paths.ts";
import { resolveTarget, type TargetOptions } from "./target.ts";

/** Where one instance's usage is: its usage.jsonl, and what finds its records in ccp.db. */
export interface UsageSource {
  readonly log: string;
  readonly home: string;
  readonly profile: string;
  readonly persist: boolean;
  /** Rotated usage.jsonl files kept besides the current one. */
  readonly keep: number;
  /** The store the config names: a PostgreSQL one holds the whole fleet's records. */
  readonly store?: StoreSettings | undefined;
}

/**
 * The usage of the instance `--port` or the single running instance designates (as every
 * command resolves it), as that instance reports it: its profile, state directory and
 * persistence. With --profile, or when none answers, the config's. `ccp usage` and
 * `ccp usage --stats` both read through this, so they always mean the same instance.
 */
export async function usageSource(opts: TargetOptions): Promise<UsageSource> {
  if (opts.profile === undefined) {
    const target = await resolveTarget(opts, true);
    const status = await fetchStatus(target.host, target.port);
    if (status) {
      return {
        log: status.usage_log,
        home: homeOf(status.usage_log, status.profile) ?? target.home,
        profile: status.profile,
        // CCP_PERSIST in this shell still chooses usage.jsonl over the database (the way out of a damaged one).
        persist: readEnv().persist ?? status.persist,
        keep: target.config?.rotation.keep ?? RotationSchema.parse({}).keep,
        store: target.config?.store,
      };
    }
  }
  const config = loadConfig({ file: opts.config, profile: opts.profile });
  return { log: usageLogPath(config), home: config.home, profile: config.profile, persist: config.persist, keep: config.rotation.keep, store: config.store };
}

/** The state directory an instance's usage log is under ($CCP_HOME/logs/<profile>/usage.jsonl), which may not be this shell's. */
function homeOf(log: string, profile: string): string | undefined {
  const tail = sep + join("logs", profile, "usage.jsonl");
  return log.endsWith(tail) ? log.slice(0, -tail.length) : undefined;
}
