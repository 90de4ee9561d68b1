import { join } from "node:path";
import type { Config } from "../config/config.ts";

/** Where an instance's usage.jsonl is: one per profile under the state directory. */
export function usageLogPath(config: Pick<Config, "home" | "profile">): string {
  return join(config.home, "logs", config.profile, "usage.jsonl");
}
