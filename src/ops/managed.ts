import { isHealthy } from "./health.ts";
import { askStatus } from "./instance.ts";
import { holdsListener } from "./listener.ts";
import { pidAlive } from "./process.ts";
import type { ServiceRef } from "./service-ref.ts";
import { readState } from "./state-file.ts";

/**
 * Whether the ccp on a port is a service's (`ccp service install`): then `stop` and `restart` go
 * through its manager, since a ccp killed by hand would be started again at once (systemd's
 * Restart=on-failure, launchd's KeepAlive) and one started by hand would not be the service's.
 * The server says so in /status; one that does not answer is judged by the run file it wrote.
 */
export async function managerOfInstance(home: string, host: string, port: number): Promise<ServiceRef | undefined> {
  const answer = await askStatus(host, port);
  // A service named by whatever answers is believed only from the process listening on the port.
  if (answer.kind === "running") return answer.body.managed_by && holdsListener(answer.body.pid, port) !== false ? answer.body.managed_by : undefined;
  const state = readState(home, port);
  return state?.managed_by && pidAlive(state.pid) ? state.managed_by : undefined;
}

/** Waits until nothing answers /healthz on the port; false on timeout. */
export async function waitStopped(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isHealthy(host, port, 500))) return true;
    await Bun.sleep(100);
  }
  return false;
}

/** Waits until a ccp other than `oldPid` answers on the port (a keyed one counts once /healthz answers); its pid, else undefined on timeout. */
export async function waitRestarted(host: string, port: number, oldPid: number | undefined, timeoutMs: number): Promise<number | "keyed" | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await askStatus(host, port, 1_000);
    if (answer.kind === "running" && answer.body.pid !== oldPid) return answer.body.pid;
    if (answer.kind === "needs-key" && (oldPid === undefined || !pidAlive(oldPid))) return "keyed";
    await Bun.sleep(100);
  }
  return undefined;
}
