import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { constants } from "node:os";
import { readEnv } from "../../config/env.ts";
import { loadConfig } from "../../config/load.ts";
import { isHealthy } from "../../ops/health.ts";
import { launchDetached } from "../../ops/launch.ts";
import { instanceUrl } from "../../ops/local-http.ts";
import { applyPlan, proxyEnvPlan, proxyKeyEnvFor } from "../../ops/shell-env.ts";
import { ExitError } from "../exit-error.ts";
import { paint } from "../render.ts";
import { resolveTarget } from "../target.ts";

export interface WrapOptions {
  readonly port?: number;
  readonly start?: boolean;
}

/** Signals passed on to the child. INT and QUIT from a terminal already reach the whole foreground group. */
const FORWARDED: readonly NodeJS.Signals[] = ["SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGINT", "SIGQUIT"];
const TERMINAL_SIGNALS = new Set<NodeJS.Signals>(["SIGINT", "SIGQUIT", "SIGWINCH"]);

/**
 * Runs a command (no shell: argv as given) pointed at the proxy. stdio is inherited and the
 * exit code comes back unchanged. The proxy is never stopped here: other sessions may use it.
 */
export async function wrap(command: string, args: readonly string[], opts: WrapOptions): Promise<void> {
  const target = await resolveTarget({ port: opts.port });
  const parent = readEnv().all;
  // Found before the proxy is started for it: a typo should not leave a proxy running.
  const exe = command.includes("/") ? runnablePath(command) : Bun.which(command, { PATH: parent.PATH ?? "" });
  if (!exe) throw cannotRun(command, { code: "ENOENT" });
  if (!(await isHealthy(target.host, target.port))) {
    const config = loadConfig({ port: target.port });
    if (!opts.start && !config.wrap_start) {
      throw new ExitError(
        1,
        `no ccp is running on port ${target.port}`,
        `start one (ccp start --port ${target.port}), let wrap do it (ccp wrap --start${opts.port !== undefined ? ` --port ${target.port}` : ""} ${command}), or set wrap_start = true in the config`,
      );
    }
    const result = await launchDetached({ config, options: {} });
    if (!result.ok && result.reason === "state-dir") throw new ExitError(2, result.problem.message, result.problem.hint);
    // ccp_already_running: another session started it meanwhile, which is as good.
    if (!result.ok && result.reason !== "ccp-running") throw new ExitError(1, `could not start ccp on port ${target.port} (${result.reason})`, `see the server log: ${result.log}`);
    console.error(paint.warn(`started ccp on port ${target.port}; it keeps running after this command (ccp stop ${target.port} stops it)`));
  }

  const env = applyPlan(parent, proxyEnvPlan(instanceUrl(target.host, target.port), proxyKeyEnvFor(parent)));

  // Handlers go in before the child exists: a signal in between is held and passed on once it does.
  // On a terminal the child got INT/QUIT/WINCH itself: sending them again would double them
  // (two Ctrl-C exit Claude Code). Elsewhere (kill -INT from a supervisor) pass them on.
  const fromTerminal = Boolean(process.stdin.isTTY);
  let child: ReturnType<typeof Bun.spawn> | undefined;
  const held: NodeJS.Signals[] = [];
  const handlers = FORWARDED.map((sig) => {
    const handler = () => {
      if (fromTerminal && TERMINAL_SIGNALS.has(sig)) return;
      if (child) child.kill(sig);
      else held.push(sig);
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  try {
    child = Bun.spawn([exe, ...args], { env, stdio: ["inherit", "inherit", "inherit"], argv0: command });
  } catch (e) {
    for (const [sig, handler] of handlers) process.off(sig, handler);
    throw cannotRun(command, e);
  }
  for (const sig of held) child.kill(sig);
  const code = await child.exited;
  for (const [sig, handler] of handlers) process.off(sig, handler);
  const signalCode = child.signalCode as NodeJS.Signals | null;
  // The shell's convention for a child killed by a signal: 128 + its number.
  process.exitCode = signalCode ? 128 + (constants.signals[signalCode] ?? 0) : code;
}

/** A command given as a path: undefined when nothing is there, an error when it cannot run. */
function runnablePath(command: string): string | undefined {
  const st = statSync(command, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (st.isDirectory()) throw cannotRun(command, { code: "EISDIR" });
  try {
    accessSync(command, fsConstants.X_OK);
  } catch (e) {
    throw cannotRun(command, e);
  }
  return command;
}

/** A command that cannot be run, as a shell says it: 127 when there is none, 126 when it is not executable. */
function cannotRun(command: string, e: unknown): ExitError {
  const code = (e as { code?: unknown })?.code;
  if (code === "ENOENT") return new ExitError(127, `command not found: ${command}`, "check the name, or give its path");
  const why = code === "EACCES" ? "permission denied, or not a program" : code === "EISDIR" ? "it is a directory" : String((e as Error)?.message ?? e);
  return new ExitError(126, `cannot run ${command}: ${why}`, "give the path of an executable file");
}
