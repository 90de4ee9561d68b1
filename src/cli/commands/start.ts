import { mkdirSync, openSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import ora from "ora";
import { loadConfig } from "../../config/load.ts";
import { isHealthy, isPortBusy, waitHealthy } from "../../ops/health.ts";
import { instancePaths } from "../../ops/paths.ts";
import { selfCommand } from "../../ops/self.ts";
import { startServer } from "../../server/serve.ts";
import { ExitError } from "../exit-error.ts";
import { paint } from "../render.ts";

export interface StartOptions {
  readonly port?: number;
  readonly profile?: string;
  readonly config?: string;
  readonly foreground?: boolean;
}

const GRACE_MS = 10_000;

export async function start(opts: StartOptions): Promise<void> {
  const config = loadConfig({ file: opts.config, profile: opts.profile, port: opts.port });
  if (await isHealthy(config.host, config.port)) {
    throw new ExitError(1, `a ccp is already running on port ${config.port}`, `use it, or pick another port: ccp start --port ${config.port + 1}`);
  }
  if (await isPortBusy(config.host, config.port)) {
    throw new ExitError(1, `port ${config.port} on ${config.host} is already in use by another program`, `choose a free port: ccp start --port <N>`);
  }
  if (opts.foreground) return runForeground(config);

  const paths = instancePaths(config.home, config.port);
  mkdirSync(dirname(paths.state), { recursive: true });
  const out = openSync(paths.log, "a", 0o600);
  const args = ["start", "--foreground", "--port", String(config.port), "--profile", config.profile];
  if (config.source) args.push("--config", config.source);
  const child = Bun.spawn([...selfCommand(), ...args], { stdio: ["ignore", out, out], detached: true });
  child.unref();
  writeFileSync(paths.state, JSON.stringify({ pid: child.pid, port: config.port, host: config.host, profile: config.profile, config: config.source ?? null, started_at: new Date().toISOString() }) + "\n");

  const spinner = process.stderr.isTTY ? ora({ text: `starting ccp on port ${config.port}`, stream: process.stderr }).start() : undefined;
  const healthy = await waitHealthy(config.host, config.port, 15_000, () => child.exitCode === null);
  spinner?.stop();
  if (!healthy) {
    throw new ExitError(1, `ccp did not become healthy on port ${config.port}`, `see the server log: ${paths.log}`);
  }
  const url = `http://${config.host}:${config.port}`;
  console.log(`${paint.ok("ccp is running")} at ${url} (pid ${child.pid}, profile ${config.profile})`);
  console.log(`log: ${paths.log}`);
  console.log(`point Claude Code at it:  export ANTHROPIC_BASE_URL=${url}`);
}

function runForeground(config: ReturnType<typeof loadConfig>): Promise<void> {
  const stamp = () => new Date().toISOString();
  const log = {
    info: (m: string) => console.log(`${stamp()} info ${m}`),
    warn: (m: string) => console.log(`${stamp()} warn ${m}`),
    error: (m: string) => console.log(`${stamp()} error ${m}`),
  };
  const server = startServer(config, log);
  const lanes = Object.values(config.lanes).map((l) => `${l.name}=${l.transport} ${l.base_url}`).join(", ");
  log.info(`ccp listening on ${server.url} profile=${config.profile} config=${config.source ?? "built-in defaults"} lanes: ${lanes}`);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`${signal}: stopping, in-flight streams get up to ${GRACE_MS / 1000} s`);
      void server.stop(GRACE_MS).then(() => {
        log.info("stopped");
        resolve();
      });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}
