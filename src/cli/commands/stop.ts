import { stopInstance } from "../../ops/stop-instance.ts";
import { ExitError } from "../exit-error.ts";
import { paint } from "../render.ts";
import { resolveTarget } from "../target.ts";

export interface StopOptions {
  readonly port?: number;
}

/** Stops the instance on a port; nothing running is a clear no-op (exit 0). */
export async function stop(opts: StopOptions): Promise<void> {
  const target = await resolveTarget(opts, true);
  const outcome = await stopInstance(target.home, target.host, target.port);
  switch (outcome.kind) {
    case "stopped":
      console.log(`${paint.ok("stopped")} ccp on port ${target.port} (pid ${outcome.pid}${outcome.forced ? ", killed after the grace period" : ""})`);
      return;
    case "not-running":
      console.log(`no ccp is running on port ${target.port}; nothing to stop${outcome.staleStateRemoved ? " (removed a stale pid file)" : ""}`);
      return;
    case "failed":
      throw new ExitError(1, `could not stop ccp on port ${target.port}: ${outcome.message}`, "stop it by its pid with kill, then run ccp status");
  }
}
