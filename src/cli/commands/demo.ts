import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../../config/config.ts";
import { readEnv } from "../../config/env.ts";
import { loadConfig } from "../../config/load.ts";
import { DEMO_KEY, DEMO_KEY_ENV, DEMO_LANE, DEMO_PORT, DEMO_PROFILE, demoConfigToml } from "../../demo/config.ts";
import { FAULT_WORDS, type Fault, type Simulator, startSimulator } from "../../demo/simulator.ts";
import { portProblem } from "../../ops/launch.ts";
import { instanceUrl } from "../../ops/local-http.ts";
import { prepareStateDir } from "../../ops/state-dir.ts";
import type { Logger } from "../../server/context.ts";
import { startServer } from "../../server/serve.ts";
import { ExitError } from "../exit-error.ts";
import { stdoutLog } from "../line-log.ts";
import { out } from "../render.ts";
import { replacePrivate } from "../../usage/private-file.ts";

export interface DemoOptions {
  readonly port?: number;
  readonly fault?: Fault;
  readonly state?: string;
}

const GRACE_MS = 10_000;

/**
 * `ccp demo`: ccp in this terminal with one lane, `demo`, whose upstream is a simulator in the
 * same process (src/demo/): try ccp with Claude Code, no provider account needed. Its config,
 * usage log and store live in a directory of its own (temporary unless --state), so the user's
 * config and usage log are never read or written. Every line it prints says it is a demo.
 */
export async function demo(opts: DemoOptions): Promise<void> {
  const env = readEnv();
  const port = opts.port ?? DEMO_PORT;
  const problem = port === 0 ? undefined : await portProblem("127.0.0.1", port);
  if (problem) {
    const what = problem === "ccp-running" ? "a ccp (yours?) is already running" : "another program listens";
    throw new ExitError(1, `${what} on port ${port}`, `give the demo another port: ccp demo --port ${port + 1} (or --port 0 for a free one)`);
  }
  const keep = opts.state !== undefined;
  const state = keep ? resolve(opts.state!) : mkdtempSync(join(env.tmpDir, "ccp-demo-"));
  if (keep && !existsSync(state)) mkdirSync(state, { recursive: true, mode: 0o700 });
  let sim: Simulator | undefined;
  try {
    const fault = opts.fault ?? "none";
    sim = startSimulator({ fault });
    const configFile = join(state, "demo.toml");
    // Written new and renamed into place: a link planted at demo.toml (a --state directory others
    // can reach) is replaced, never written through; the state directory's check follows.
    replacePrivate(configFile, demoConfigToml(port, sim.url));
    // Nothing of this shell's environment: no proxy key, no MITM_FORCE_H1, no CCP_HOME of the user's.
    const config: Config = { ...loadConfig({ file: configFile, profile: DEMO_PROFILE, env: { HOME: env.userHome, CCP_HOME: state, [DEMO_KEY_ENV]: DEMO_KEY } }), demo: true };
    const unsafe = prepareStateDir(config);
    if (unsafe) throw new ExitError(2, unsafe.message, unsafe.hint);
    const log = stdoutLog();
    const server = startServer(config, demoLog(log));
    console.log(banner({ url: instanceUrl(config.host, server.port), port: server.port, fault, state, keep }));
    demoLog(log).info(`ccp listening on ${server.url} dashboard=${instanceUrl(config.host, server.port)}/dashboard pid=${process.pid} profile=${config.profile} lanes: ${DEMO_LANE}=h1 ${sim.url}`);
    await untilSignal(demoLog(log));
    await server.stop(GRACE_MS);
    log.info(`[demo] stopped${keep ? `; its usage log stays in ${state}` : "; its temporary state is removed"}`);
    log.flush();
  } finally {
    await sim?.stop();
    if (!keep) rmSync(state, { recursive: true, force: true });
  }
}

/** The server's log lines, each marked as the demo's. */
const demoLog = (log: Logger): Logger => ({ info: (m) => log.info(`[demo] ${m}`), warn: (m) => log.warn(`[demo] ${m}`), error: (m) => log.error(`[demo] ${m}`) });

function untilSignal(log: Logger): Promise<void> {
  return new Promise((done) => {
    const stop = (signal: string) => {
      log.info(`${signal}: ending the demo, in-flight streams get up to ${GRACE_MS / 1000} s`);
      done();
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}

function banner(o: { url: string; port: number; fault: Fault; state: string; keep: boolean }): string {
  const p = ` --port ${o.port}`;
  return [
    out.warn(`ccp DEMO: a simulated Anthropic-compatible upstream answers; nothing reaches a provider, no account or key is needed`),
    `proxy      ${o.url}   (lane "${DEMO_LANE}", profile "${DEMO_PROFILE}")`,
    `dashboard  ${o.url}/dashboard`,
    `fault      ${FAULT_WORDS[o.fault]}`,
    `state      ${o.state} (config, usage log, store; ${o.keep ? "kept" : "removed when the demo ends"}): your own config and usage log are not touched`,
    "",
    "Point Claude Code at it, in another terminal:",
    `  ANTHROPIC_BASE_URL=${o.url} claude`,
    `  (not logged in to Claude Code? add ANTHROPIC_API_KEY=demo: the demo lane drops the client's key anyway)`,
    "Then see what ccp did:",
    `  ccp usage${p} --tail 20      (--follow to watch, --stats for a summary)`,
    `  ccp status${p}`,
    `Try the faults: ccp demo --fault burst, ccp demo --fault overload. Ctrl-C ends the demo.`,
    "",
  ].join("\n");
}
