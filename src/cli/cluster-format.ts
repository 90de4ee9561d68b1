import type { ClusterStatus } from "../ops/status-body.ts";
import { out, table } from "./render.ts";

/**
 * `ccp status`'s fleet section: the Redis the instance coordinates through and, per shared
 * lane, the instances seen, the slots in use (by instance) and the fleet's limit.
 */
export function renderCluster(c: ClusterStatus): string {
  const state = c.connected ? out.ok("connected") : out.bad("unreachable: this instance uses its local limits");
  const falls = c.fallbacks ? `, ${c.fallbacks} fall-back${c.fallbacks === 1 ? "" : "s"} since start` : "";
  const head = `cluster    ${c.redis}  ${state}${falls}  (this instance: ${c.instance}, lease ${c.lease_ms / 1000} s)`;
  const rows = c.lanes.map((l) => {
    const byInstance = Object.entries(l.slots)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, n]) => `${name} ${n}`)
      .join(", ");
    return [
      l.name,
      `${l.instances.length}: ${l.instances.join(", ") || "-"}`,
      `${l.slots_in_use}${byInstance ? ` (${byInstance})` : ""}`,
      l.limit === null ? "none" : String(l.limit),
      l.h1_cooldown_s > 0 ? `h1 for ${l.h1_cooldown_s}s` : "-",
    ];
  });
  return `${head}\n${table(["shared lane", "instances", "slots in use", "fleet limit", "cool-down"], rows)}`;
}
