import type { Config } from "../config/config.ts";

/** What a config asks of the fleet that cannot happen: `ccp start` logs these and `ccp config check` prints them. */
export function clusterWarnings(config: Pick<Config, "lanes" | "cluster">): string[] {
  const shared = Object.values(config.lanes).filter((l) => l.shared);
  if (config.cluster.redis_url === undefined) {
    return shared.map((l) => `lane ${l.name}: shared = true does nothing without [cluster] redis_url (or CCP_REDIS_URL); its limits are this instance's`);
  }
  return shared.length === 0 ? ["[cluster] redis_url is set but no lane has shared = true: nothing is shared"] : [];
}
