import { managerOfInstance, waitStopped } from "../../ops/managed.ts";
import { type ServiceDeps, stopManaged, systemDeps } from "../../ops/service-control.ts";
import type { ServiceRef } from "../../ops/service-ref.ts";
import { stopInstance } from "../../ops/stop-instance.ts";
import { ExitError } from "../exit-error.ts";
import { paint } from "../render.ts";
import { resolveTarget, type Target } from "../target.ts";

export interface StopOptions {
  readonly port?: number;
}

/** Stops the instance on a port; nothing running is a clear no-op (exit 0). */
export async function stop(opts: StopOptions, deps = systemDeps()): Promise<void> {
  const target = await resolveTarget(opts, true);
  const managed = await managerOfInstance(target.home, target.host, target.port);
  if (managed) return stopService(target, managed, deps);
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

/** The manager's own words for a service's commands, for hints. */
export const managerCommand = (ref: ServiceRef, verb: "start" | "stop" | "restart") =>
  ref.manager === "systemd" ? `systemctl --user ${verb} ${ref.name}` : verb === "stop" ? `launchctl bootout gui/$(id -u)/${ref.name}` : `launchctl kickstart -k gui/$(id -u)/${ref.name}`;

/** A service's ccp is stopped by its manager, so that it stays stopped (killing it would only restart it). */
async function stopService(target: Target, ref: ServiceRef, deps: ServiceDeps): Promise<void> {
  const failed = await stopManaged(ref, deps);
  if (failed) throw new ExitError(1, `could not stop ${ref.name}, which runs ccp on port ${target.port}: ${failed}`, `try ${managerCommand(ref, "stop")}`);
  if (!(await waitStopped(target.host, target.port, 30_000))) {
    throw new ExitError(1, `${ref.name} was stopped, but a ccp still answers on port ${target.port}`, "ccp status says which; ccp service status says what the manager thinks");
  }
  const again = ref.manager === "systemd" ? `${managerCommand(ref, "start")}, ccp restart ${target.port} or the next login` : `ccp restart ${target.port} or the next login`;
  console.log(`${paint.ok("stopped")} ccp on port ${target.port} through ${ref.manager} (${ref.name}); it stays stopped until ${again}`);
}
