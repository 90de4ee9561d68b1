import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Config } from "../../config/config.ts";
import { ZAI_KEY_ENV } from "../../config/defaults.ts";
import { readEnv } from "../../config/env.ts";
import { exposureProblem } from "../../config/access.ts";
import { ConfigError, loadConfig } from "../../config/load.ts";
import { CONFIG_TEMPLATE } from "../../config/template.ts";
import { askStatus } from "../../ops/instance.ts";
import { ExitError } from "../exit-error.ts";
import { out, paint } from "../render.ts";
import { resolveInstance } from "../target.ts";
import { toToml } from "../toml-out.ts";
import { missingKeys, missingKeyWarning } from "../../config/lane-keys.ts";
import { redactRedisUrl } from "../../cluster/redis-url.ts";
import { clusterWarnings } from "../../cluster/config-warnings.ts";

export interface ConfigOptions {
  readonly config?: string;
  readonly profile?: string;
  readonly force?: boolean;
  readonly json?: boolean;
}

/** Writes the commented starting config (to --config, else the default path); never overwrites without --force. */
export async function configInit(opts: ConfigOptions): Promise<void> {
  const env = readEnv();
  const file = opts.config ?? env.configFile ?? env.defaultConfigFile;
  if (existsSync(file) && !opts.force) throw new ExitError(1, `${file} already exists`, "edit it, or overwrite it with ccp config init --force");
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, CONFIG_TEMPLATE, { mode: 0o600 });
  console.log(`${out.ok("wrote")} ${file}`);
  const byDefault = file === (env.configFile ?? env.defaultConfigFile);
  console.log(nextStep({ file, byDefault, zaiKeySet: env.secret(ZAI_KEY_ENV) !== undefined, running: await runningNow(file) }));
}

/** What runs already, as the commands that follow init would find it. */
export type RunningNow =
  | { readonly kind: "none" }
  /** config: the file it runs with (null: built-in defaults; undefined: it did not say, wanting its proxy key). */
  | { readonly kind: "one"; readonly port: number; readonly config: string | null | undefined }
  | { readonly kind: "several"; readonly ports: readonly number[] };

async function runningNow(file: string): Promise<RunningNow> {
  const r = await resolveInstance({ config: file }, true);
  if (r.kind === "several") return r;
  const answer = await askStatus(r.target.host, r.target.port);
  if (answer.kind === "none") return { kind: "none" };
  return { kind: "one", port: r.target.port, config: answer.kind === "running" ? answer.body.config : undefined };
}

/** The line after "wrote": `ccp start` only when nothing runs (a start would be refused), else the restart that uses the file. */
export function nextStep(o: { readonly file: string; readonly byDefault: boolean; readonly zaiKeySet: boolean; readonly running: RunningNow }): string {
  const configArg = ` --config ${shellWord(o.file)}`;
  const key = o.zaiKeySet ? "" : `export ${ZAI_KEY_ENV}=... (or remove the zai lane), then `;
  const check = `ccp config check${o.byDefault ? "" : configArg}`;
  const r = o.running;
  if (r.kind === "none") return `next: ${key}${check} && ccp start${o.byDefault ? "" : configArg}`;
  if (r.kind === "several") {
    return `next: ${key}${check}; ccp instances are running on ports ${r.ports.join(", ")}: ccp restart <port>${configArg} moves one of them to this file`;
  }
  // restart keeps the --config its previous start was given: name the file unless it already runs with it.
  if (r.config === resolve(o.file)) return `next: ${key}${check} && ccp restart ${r.port}   (the ccp on port ${r.port} runs with this file; a restart reads it again)`;
  return `next: ${key}${check} && ccp restart ${r.port}${configArg}   (a ccp is already running on port ${r.port}; this restarts it with the new file)`;
}

/** A path as one shell word. */
const shellWord = (s: string) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/** Validates a config (with its profile); the loader's error names the file and key. */
export function configCheck(opts: ConfigOptions): void {
  let config: Config;
  try {
    config = loadConfig({ file: opts.config, profile: opts.profile });
  } catch (e) {
    // --json answers in JSON either way; the exit status still says invalid.
    if (!(opts.json && e instanceof ConfigError)) throw e;
    console.log(JSON.stringify({ valid: false, error: e.message }));
    process.exitCode = 2;
    return;
  }
  const lanes = Object.values(config.lanes);
  // What this environment lacks: the file is valid, but start (or a lane's requests) would fail here.
  const warnings = [...missingKeys(config).map(missingKeyWarning), ...clusterWarnings(config)];
  const exposure = exposureProblem(config);
  if (exposure) warnings.push(`ccp start would refuse here: ${exposure.message}`);
  if (opts.json) {
    console.log(JSON.stringify({ valid: true, file: config.source ?? null, profile: config.profile, lanes: lanes.map((l) => l.name), warnings }));
    return;
  }
  console.log(`${out.ok("valid")}: ${config.source ?? "built-in defaults (no config file)"} (profile ${config.profile}; lanes ${lanes.map((l) => l.name).join(", ")}; ${config.routes.length} routes)`);
  console.log(paint.hint("which route a request takes: ccp route --model <model> [--subagent] [--thinking] [--tokens N] [--tool T]"));
  for (const w of warnings) console.error(paint.warn(w));
}

/** The config after profile and environment overrides; lane keys are masked, never printed. */
export function maskedConfig(config: Config): Record<string, unknown> {
  const { profile: _p, source: _s, home: _h, lanes, ...settings } = config;
  const masked: Record<string, unknown> = {};
  for (const [name, lane] of Object.entries(lanes)) {
    const { name: _n, key, ...rest } = lane;
    masked[name] = { ...rest, ...(lane.auth === "key" ? { key: key === undefined ? "(not set)" : "********" } : {}) };
  }
  return { ...settings, cluster: shownCluster(config), lanes: masked };
}

/** [cluster] with the Redis URL's password masked (the URL is left out when there is none). */
const shownCluster = (config: Config) => ({ ...config.cluster, redis_url: config.cluster.redis_url === undefined ? undefined : redactRedisUrl(config.cluster.redis_url) });

/**
 * The effective config in the file's own keys, profile and environment applied: written to a
 * file, it loads back to the same settings. Keys are not in it (they never are in a file).
 */
export function effectiveConfigFile(config: Config): Record<string, unknown> {
  const lanes: Record<string, unknown> = {};
  for (const [name, lane] of Object.entries(config.lanes)) {
    const { name: _n, key: _k, ...settings } = lane;
    lanes[name] = settings;
  }
  return {
    port: config.port,
    host: config.host,
    ...(config.access.key_required ? { proxy_key_env: config.access.key_env } : {}),
    instance: config.instance,
    persist: config.persist,
    fallback: config.fallback,
    wrap_start: config.wrap_start,
    allowed_hosts: config.allowed_hosts,
    allowed_origins: config.allowed_origins,
    capture: config.capture,
    limits: config.limits,
    store: { ...(config.store.shown === undefined ? {} : { url: config.store.shown }), buffer_mb: config.store.buffer_mb },
    retention: config.retention,
    rotation: config.rotation,
    clients: Object.fromEntries(config.access.clients.map((c) => [c.name, { key_env: c.key_env }])),
    cluster: shownCluster(config),
    lanes,
    routes: config.routes,
  };
}

const storeState = (c: Config): string => {
  if (!c.persist) return "off (persist = false)";
  if (c.store.shown === undefined) return "SQLite";
  return `PostgreSQL ${c.store.shown}${c.store.from_env ? " (from $CCP_DATABASE_URL)" : ""}, any password masked`;
};

export function configShow(opts: ConfigOptions): void {
  const config = loadConfig({ file: opts.config, profile: opts.profile });
  if (opts.json) {
    console.log(JSON.stringify({ file: config.source ?? null, profile: config.profile, home: config.home, config: maskedConfig(config) }, null, 2));
    return;
  }
  const keyState = (l: Config["lanes"][string]) => (l.auth !== "key" ? "the client's own credentials" : `key from ${l.key_env}, ${l.key === undefined ? "NOT SET here" : "set"}`);
  const lines = [
    `# effective configuration: ${config.source ?? "built-in defaults"}, profile ${config.profile} applied, with the environment's overrides`,
    `# state in ${config.home}; captures in ${config.captureDir}`,
    `# proxy key from ${config.access.key_env}: ${config.access.key_set ? "set" : "not set"}`,
    `# usage store: ${storeState(config)}`,
    ...config.access.clients.map((c) => `# client ${c.name}: key from ${c.key_env}, ${c.key === undefined ? "NOT SET here" : "set"}`),
    ...Object.values(config.lanes).map((l) => `# lane ${l.name}: ${keyState(l)}`),
    ...(config.cluster.redis_url?.includes("@") ? ["# cluster.redis_url: its password, if any, is masked"] : []),
    "# (a valid config file: keys are never shown, they stay in the environment)",
    "",
  ];
  process.stdout.write(lines.join("\n") + toToml(effectiveConfigFile(config)));
}
