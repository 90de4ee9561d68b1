import { constants } from "node:os";
import { readEnv } from "../../config/env.ts";
import { loadConfig } from "../../config/load.ts";
import { isHealthy } from "../../ops/health.ts";
import { launchDetached } from "../../ops/launch.ts";
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
  if (!(await isHealthy(target.host, target.port))) {
    const config = loadConfig({ port: target.port });
    if (!opts.start && !config.wrapStart) {
      throw new ExitError(1, `no ccp is running on port ${target.port}`, `start one (ccp start --port ${target.port}), let wrap do it (ccp wrap --start ${command}), or set wrap_start = true in the config`);
    }
    const result = await launchDetached({ config, options: {} });
    // ccp_already_running: another session started it meanwhile, which is as good.
    if (!result.ok && result.reason !== "ccp-running") throw new ExitError(1, `could not start ccp on port ${target.port} (${result.reason})`, `see the server log: ${result.log}`);
    console.error(paint.dim(`ccp: started on port ${target.port}; it keeps running after this command (ccp stop ${target.port} stops it)`));
  }

  const parent = readEnv().all;
  const env = applyPlan(parent, proxyEnvPlan(`http://${target.host}:${target.port}`, proxyKeyEnvFor(parent)));
  const exe = command.includes("/") ? command : Bun.which(command, { PATH: env.PATH ?? "" });
  if (!exe) throw new ExitError(127, `command not found: ${command}`, "check the name, or give its path");

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
  child = Bun.spawn([exe, ...args], { env, stdio: ["inherit", "inherit", "inherit"], argv0: command });
  for (const sig of held) child.kill(sig);
  const code = await child.exited;
  for (const [sig, handler] of handlers) process.off(sig, handler);
  const signalCode = child.signalCode as NodeJS.Signals | null;
  // The shell's convention for a child killed by a signal: 128 + its number.
  process.exitCode = signalCode ? 128 + (constants.signals[signalCode] ?? 0) : code;
}
