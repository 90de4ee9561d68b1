import type { ServerContext } from "./context.ts";
import type { Observability } from "./observability.ts";

/** GET /readyz: config loaded, and each lane's last known reachability. */
export function readiness(ctx: ServerContext, obs: Observability) {
  const lanes = Object.keys(ctx.config.lanes).map((name) => {
    const reach = obs.health.lanes.get(name) ?? { state: "unknown", at: null, failure_class: null };
    return { name, protocol: ctx.live.lanes.get(name)?.protocol ?? ctx.config.lanes[name]!.transport, ...reach };
  });
  // Not ready only when no lane can be expected to answer: every lane failed its last attempt.
  const ready = lanes.some((l) => l.state !== "unreachable");
  return { status: ready ? "ready" : "not_ready", config: { profile: ctx.config.profile, source: ctx.config.source ?? null }, lanes };
}
