import { exposureProblem } from "../../config/access.ts";
import { configFileWarnings } from "../../config/file-safety.ts";
import { missingKeys, missingKeyWarning } from "../../config/lane-keys.ts";
import { loadConfig } from "../../config/load.ts";
import { readEnv } from "../../config/env.ts";
import { heapHintNote } from "../../ops/heap-hint.ts";
import { launchDetached, portProblem, type LaunchResult } from "../../ops/launch.ts";
import { instanceUrl } from "../../ops/local-http.ts";
import { prepareStateDir } from "../../ops/state-dir.ts";
import { formatServiceRef } from "../../ops/service-ref.ts";
import { recordManaged } from "../../ops/state-file.ts";
import { startServer } from "../../server/serve.ts";
import { ExitError } from "../exit-error.ts";
import { stdoutLog } from "../line-log.ts";
import { paint, spinner } from "../render.ts";

export interface StartOptions {
  readonly port?: number;
  readonly host?: string;
  readonly profile?: string;
  readonly config?: string;
  readonly foreground?: boolean;
}

const GRACE_MS = 10_000;

export async function start(opts: StartOptions): Promise<void> {
  const config = loadConfig({ file: opts.config, profile: opts.profile, port: opts.port, host: opts.host });
  const exposure = exposureProblem(config);
  if (exposure) throw new ExitError(2, exposure.message, exposure.hint);
  // Before anything is written there: a state directory others can write is refused (SECURITY.md).
  const unsafeHome = prepareStateDir(config);
  if (unsafeHome) throw new ExitError(2, unsafeHome.message, unsafeHome.hint);
  const warnings = configFileWarnings(config.source, [config.access.key, ...config.access.clients.map((c) => c.key), ...Object.values(config.lanes).map((l) => l.key)]);
  if (opts.foreground) {
    const problem = config.port === 0 ? undefined : await portProblem(config.host, config.port);
    if (problem) throw refusal(problem, config.port, config.host);
    return runForeground(config, warnings);
  }
  // A detached start reports, and writes its files under, the port it was given: 0 (a free one) cannot be.
  if (config.port === 0) {
    const given = opts.port === 0 ? "--port 0" : `port = 0 in ${config.source ?? "the config"}`;
    throw new ExitError(2, `${given} (a free port) works only with --foreground`, "give a port (ccp start --port 8082), or run it in this terminal: ccp start --foreground --port 0");
  }
  // The server logs these too, but a detached one logs into a file nobody reads at this moment.
  for (const w of [...warnings, ...missingKeys(config).map(missingKeyWarning)]) console.error(paint.warn(w));
  const wait = spinner(`starting ccp on port ${config.port}`);
  const options = { profile: opts.profile, config: opts.config === undefined ? undefined : (config.source ?? undefined), host: opts.host };
  const result = await launchDetached({ config, options }).finally(() => wait.stop());
  reportLaunch(result, config.port, config.host);
}

/** Prints where the new instance is, or throws what went wrong (shared with restart and wrap). */
export function reportLaunch(result: LaunchResult, port: number, host: string): asserts result is Extract<LaunchResult, { ok: true }> {
  if (!result.ok) {
    if (result.reason === "state-dir") throw new ExitError(2, result.problem.message, result.problem.hint);
    if (result.reason === "not-healthy") throw new ExitError(1, `ccp did not become healthy on port ${port}`, `see the server log: ${result.log}`);
    throw refusal(result.reason, port, host);
  }
  const { state, url } = result;
  console.log(`${paint.ok("ccp is running")} at ${url} (pid ${state.pid}, profile ${state.profile})`);
  console.log(`dashboard: ${url}/dashboard`);
  console.log(`log: ${result.log}`);
  console.log(`point Claude Code at it:  eval "$(ccp env ${port})"   (or: export ANTHROPIC_BASE_URL=${url})`);
}

function refusal(reason: "ccp-running" | "port-busy", port: number, host: string): ExitError {
  return reason === "ccp-running"
    ? new ExitError(1, `a ccp is already running on port ${port}`, `use it, restart it (ccp restart ${port}), or pick another port: ccp start --port ${port + 1}`)
    : new ExitError(1, `port ${port} on ${host} is already in use by another program`, "choose a free port: ccp start --port <N>");
}

function runForeground(config: ReturnType<typeof loadConfig>, warnings: readonly string[]): Promise<void> {
  const log = stdoutLog();
  for (const w of warnings) log.warn(w);
  const server = startServer(config, log);
  const forget = recordManaged(config, server.port);
  const lanes = Object.values(config.lanes)
    .map((l) => `${l.name}=${l.transport} ${l.base_url}`)
    .join(", ");
  log.info(
    `ccp listening on ${server.url} dashboard=${instanceUrl(config.host, server.port)}/dashboard pid=${process.pid} profile=${config.profile} ` +
      `config=${config.source ?? "built-in defaults"} ${heapHintNote(readEnv().all)}${config.managed_by ? ` managed_by=${formatServiceRef(config.managed_by)}` : ""} lanes: ${lanes}`,
  );
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`${signal}: stopping, in-flight streams get up to ${GRACE_MS / 1000} s`);
      void server.stop(GRACE_MS).then(() => {
        forget();
        log.info("stopped");
        log.flush();
        resolve();
      });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}
