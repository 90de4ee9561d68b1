import { closeSync } from "node:fs";
import type { Config } from "../config/config.ts";
import { readEnv } from "../config/env.ts";
import { openAppendPrivate } from "../usage/private-file.ts";
import { withHeapHint } from "./heap-hint.ts";
import { isHealthy, isPortBusy, waitHealthy } from "./health.ts";
import { instanceUrl } from "./local-http.ts";
import { instancePaths } from "./paths.ts";
import { selfCommand } from "./self.ts";
import { SERVICE_ENV } from "./service-ref.ts";
import type { StateDirProblem } from "./state-dir-check.ts";
import { prepareStateDir } from "./state-dir.ts";
import { removeState, writeState, type InstanceState } from "./state-file.ts";

export interface LaunchRequest {
  readonly config: Config;
  /** What the user gave explicitly, kept in the state file for restart. */
  readonly options: InstanceState["options"];
  readonly readyTimeoutMs?: number;
}

export type LaunchResult =
  | { readonly ok: true; readonly state: InstanceState; readonly log: string; readonly url: string }
  | { readonly ok: false; readonly reason: "ccp-running" | "port-busy" | "not-healthy"; readonly log: string }
  | { readonly ok: false; readonly reason: "state-dir"; readonly problem: StateDirProblem; readonly log: string };

/** Why a port cannot take a new instance, or undefined when it is free. */
export async function portProblem(host: string, port: number): Promise<"ccp-running" | "port-busy" | undefined> {
  if (await isHealthy(host, port)) return "ccp-running";
  if (await isPortBusy(host, port)) return "port-busy";
  return undefined;
}

/**
 * Starts a detached `ccp start --foreground` with the caller's environment plus the heap hint (so a restart
 * picks up exported variables), writes the state file, and waits for /healthz: readiness
 * is an HTTP answer, never a pid.
 */
export async function launchDetached(req: LaunchRequest): Promise<LaunchResult> {
  const { config } = req;
  const paths = instancePaths(config.home, config.port);
  // Restart and wrap come here without start's check: the log and the run file are written below.
  const unsafeHome = prepareStateDir(config);
  if (unsafeHome) return { ok: false, reason: "state-dir", problem: unsafeHome, log: paths.log };
  const problem = await portProblem(config.host, config.port);
  if (problem) return { ok: false, reason: problem, log: paths.log };

  const out = openAppendPrivate(paths.log);
  const args = ["start", "--foreground", "--port", String(config.port), "--profile", config.profile];
  if (config.source) args.push("--config", config.source);
  // --host may have come from the command line: the child must listen where the parent checked.
  if (config.host !== "127.0.0.1") args.push("--host", config.host);
  // A server this shell starts is never a service's, even from a shell that has CCP_SERVICE.
  const env = withHeapHint({ ...readEnv().all, [SERVICE_ENV]: undefined });
  const child = Bun.spawn([...selfCommand(), ...args], { env, stdio: ["ignore", out, out], detached: true });
  child.unref();
  closeSync(out);
  const state: InstanceState = {
    pid: child.pid,
    port: config.port,
    host: config.host,
    profile: config.profile,
    config: config.source ?? null,
    started_at: new Date().toISOString(),
    options: req.options,
  };
  writeState(config.home, state);
  const healthy = await waitHealthy(config.host, config.port, req.readyTimeoutMs ?? 20_000, () => child.exitCode === null);
  if (!healthy) {
    if (child.exitCode === null) child.kill("SIGKILL");
    removeState(config.home, config.port);
    return { ok: false, reason: "not-healthy", log: paths.log };
  }
  return { ok: true, state, log: paths.log, url: instanceUrl(config.host, config.port) };
}
