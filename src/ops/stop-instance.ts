import { isHealthy } from "./health.ts";
import { fetchStatus } from "./instance.ts";
import { holdsListener } from "./listener.ts";
import { looksLikeCcpServer, pidAlive, signal, waitExit } from "./process.ts";
import { readState, removeState } from "./state-file.ts";

export type StopOutcome =
  | { readonly kind: "stopped"; readonly pid: number; readonly forced: boolean }
  | { readonly kind: "not-running"; readonly staleStateRemoved: boolean }
  | { readonly kind: "failed"; readonly pid: number | undefined; readonly message: string };

/** SIGTERM lets in-flight streams finish (the server's grace is 10 s); after this, SIGKILL. */
const TERM_GRACE_MS = 15_000;

/**
 * Stops the ccp on a port. The pid comes from the server itself (GET /status) when it
 * answers; a state file whose process is gone or is not a ccp is stale and removed.
 */
export async function stopInstance(home: string, host: string, port: number): Promise<StopOutcome> {
  const status = await fetchStatus(host, port);
  const state = readState(home, port);
  let pid = status?.pid;
  if (pid === undefined && state && pidAlive(state.pid) && looksLikeCcpServer(state.pid, port)) {
    // Not answering HTTP but still there: a wedged server of ours.
    pid = state.pid;
  }
  // What answers on the port names its pid; it is signalled only when it is the process listening there.
  if (pid !== undefined && status?.pid === pid && holdsListener(pid, port) === false) {
    return { kind: "failed", pid, message: `what answers on port ${port} names pid ${pid}, which is not the process listening there: not stopped` };
  }
  if (pid === undefined) {
    if (await isHealthy(host, port)) return { kind: "failed", pid: undefined, message: `the ccp on port ${port} did not say its pid` };
    if (state) removeState(home, port);
    return { kind: "not-running", staleStateRemoved: state !== undefined };
  }
  if (!signal(pid, "SIGTERM")) return { kind: "failed", pid, message: `cannot signal pid ${pid} (not yours?)` };
  let forced = false;
  if (!(await waitExit(pid, TERM_GRACE_MS))) {
    forced = true;
    signal(pid, "SIGKILL");
    if (!(await waitExit(pid, 5_000))) return { kind: "failed", pid, message: `pid ${pid} did not exit` };
  }
  // The port is free once the process is gone; wait for the listener anyway (a reaped pid may lag).
  const deadline = Date.now() + 5_000;
  while ((await isHealthy(host, port, 300)) && Date.now() < deadline) await Bun.sleep(50);
  // A new instance may have started on the port meanwhile: its state file is not ours to remove.
  removeState(home, port, pid);
  return { kind: "stopped", pid, forced };
}
