import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { makeAccess, makeClient, PROXY_KEY_ENV } from "./access.ts";
import type { Config, Lane } from "./config.ts";
import { defaultRawConfig, ZAI_KEY_ENV } from "./defaults.ts";
import { readEnv, type EnvMap } from "./env.ts";
import { deepMerge } from "./merge.ts";
import { parseServiceRef } from "../ops/service-ref.ts";
import { readRegular } from "./read-regular.ts";
import { ConfigSchema, instanceName, redisUrlProblem, storeUrlProblem } from "./schema.ts";
import { DATABASE_URL_ENV, makeStore, maskedUrl } from "./store.ts";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    /** What to do about it, when it is not "fix the key named above". */
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface LoadOptions {
  /** --config */
  readonly file?: string | undefined;
  /** --profile */
  readonly profile?: string | undefined;
  /** --port, wins over the file */
  readonly port?: number | undefined;
  /** --host, wins over the file */
  readonly host?: string | undefined;
  /** The environment to read; process.env by default. */
  readonly env?: EnvMap | undefined;
}

export const DEFAULT_PROFILE = "default";

export function loadConfig(options: LoadOptions = {}): Config {
  const env = readEnv(options.env);
  const file = pickFile(options.file ?? env.configFile, env.defaultConfigFile);
  const where = file ?? "built-in defaults";
  const raw = file ? parseToml(file) : defaultRawConfig(env.secret(ZAI_KEY_ENV) !== undefined);

  const profile = options.profile ?? env.profile ?? DEFAULT_PROFILE;
  const overlaid = applyProfile(raw, profile, where);
  // --host is checked like the file's key (an address, nothing that could smuggle a URL), and blamed as itself.
  if (options.host !== undefined) {
    const host = ConfigSchema.shape.host.safeParse(options.host);
    if (!host.success) throw new ConfigError(`--host ${JSON.stringify(options.host)}: ${host.error.issues[0]?.message}`, "give an address such as 127.0.0.1 or ::1 (no scheme, no port)");
  }
  const parsed = ConfigSchema.safeParse(options.host === undefined ? overlaid : { ...overlaid, host: options.host });
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, overlaid, where, profile));
  const c = parsed.data;
  const redisProblem = env.redisUrl === undefined ? undefined : redisUrlProblem(env.redisUrl);
  if (redisProblem) throw new ConfigError(`CCP_REDIS_URL: ${redisProblem}`, "fix or unset the variable (its value is not shown: it may hold a password)");

  const lanes: Record<string, Lane> = {};
  for (const [name, lane] of Object.entries(c.lanes)) {
    const forceH1 = env.forceH1 && lane.dialect !== "anthropic";
    lanes[name] = {
      ...lane,
      ca_file: lane.ca_file === undefined ? undefined : checkedCaFile(lane.ca_file, file, `${where}: invalid configuration\n  lanes.${name}.ca_file`),
      name,
      transport: forceH1 ? "h1" : lane.transport,
      key: lane.key_env ? env.secret(lane.key_env) : undefined,
    };
  }
  return {
    port: options.port ?? c.port,
    host: c.host,
    persist: env.persist ?? c.persist,
    fallback: c.fallback,
    wrap_start: c.wrap_start,
    lanes,
    routes: c.routes,
    profile,
    source: file,
    home: env.home,
    capture: env.captureDir && c.capture === "off" ? "all" : c.capture,
    captureDir: env.captureDir ?? join(env.home, "captures"),
    retention: c.retention,
    rotation: c.rotation,
    cluster: { ...c.cluster, redis_url: env.redisUrl ?? c.cluster.redis_url },
    allowed_hosts: c.allowed_hosts,
    allowed_origins: c.allowed_origins,
    access: makeAccess(
      c.proxy_key_env ?? PROXY_KEY_ENV,
      c.proxy_key_env !== undefined,
      env.secret(c.proxy_key_env ?? PROXY_KEY_ENV),
      Object.entries(c.clients).map(([name, client]) => makeClient(name, client.key_env, env.secret(client.key_env))),
    ),
    instance: pickInstance(env.instance, c.instance),
    store: makeStore(checkedDatabaseUrl(env.databaseUrl) ?? c.store.url, env.databaseUrl !== undefined, c.store.buffer_mb),
    limits: c.limits,
    managed_by: parseServiceRef(env.service),
  };
}

/** $CCP_DATABASE_URL, checked like [store] url; the error shows it with its password masked. */
function checkedDatabaseUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const problem = storeUrlProblem(url);
  if (!problem) return url;
  const shown = URL.canParse(url) ? maskedUrl(url) : "(not a URL)";
  throw new ConfigError(`$${DATABASE_URL_ENV} ${shown}: ${problem}`, `unset it, or give one such as postgres://ccp@db.lan:5432/ccp`);
}

/** $CCP_INSTANCE (checked like the config key), else the config's, else the host name made into a valid name. */
function pickInstance(fromEnv: string | undefined, fromFile: string | undefined): string {
  if (fromEnv !== undefined) {
    const checked = instanceName.safeParse(fromEnv);
    if (!checked.success) throw new ConfigError(`$CCP_INSTANCE ${JSON.stringify(fromEnv.slice(0, 80))}: ${checked.error.issues[0]?.message}`, "unset it, or give a name such as build-box-2");
    return fromEnv;
  }
  return (
    fromFile ??
    (hostname()
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^[^A-Za-z0-9]+/, "")
      .slice(0, 64) ||
      "ccp")
  );
}

/**
 * A lane's CA file, resolved against the config file's directory (so the server finds it from
 * any working directory) and read now: a missing or empty file fails the config, not a request.
 */
function checkedCaFile(path: string, configFile: string | undefined, key: string): string {
  const abs = resolve(configFile ? dirname(configFile) : process.cwd(), path);
  let text: string;
  try {
    text = readRegular(abs);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new ConfigError(`${key}: cannot read ${abs}${code === "ENOENT" ? ": no such file" : code ? ` (${code})` : ""}`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new ConfigError(`${key}: ${abs} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return abs;
}

function pickFile(explicit: string | undefined, fallback: string): string | undefined {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new ConfigError(`${explicit}: config file not found`, `check the path, or write a starting one with ccp config init --config ${explicit}`);
    // Absolute from here on: a server, a restart or a status may run from another directory.
    return resolve(explicit);
  }
  return existsSync(fallback) ? fallback : undefined;
}

function parseToml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readRegular(file);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOTREG") throw new ConfigError(`${file}: not a regular file (a pipe, device or directory)`, "give the path of a TOML file");
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`, "check the file's permissions");
  }
  try {
    return Bun.TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    const message = (e as Error).message.replace(/^TOML Parse error: /, "");
    const line = errorLine(text, (e as Error).message);
    throw new ConfigError(`${file}${line ? `:${line}` : ""}: not valid TOML: ${message}`, `fix the ${line ? `line ${line}` : "syntax"}, then run ccp config check`);
  }
}

/**
 * Bun's TOML errors carry no position: the line is the first whose prefix of the file fails
 * with the same message (a config file is small, so parsing it again per line costs nothing).
 */
function errorLine(text: string, message: string): number | undefined {
  const lines = text.split("\n");
  for (let n = 1; n <= lines.length; n++) {
    try {
      Bun.TOML.parse(`${lines.slice(0, n).join("\n")}\n`);
    } catch (e) {
      if ((e as Error).message === message) return n;
    }
  }
  return undefined;
}

function applyProfile(raw: Record<string, unknown>, profile: string, where: string): Record<string, unknown> {
  const profiles = (raw.profiles ?? {}) as Record<string, unknown>;
  const overlay = profiles[profile];
  if (overlay === undefined) {
    if (profile === DEFAULT_PROFILE) return raw;
    const known = Object.keys(profiles);
    throw new ConfigError(
      `${where}: profile "${profile}" is not defined${known.length ? ` (known: ${known.join(", ")})` : " (the file has no [profiles.*] tables)"}`,
      `pick a defined profile with --profile (or $CCP_PROFILE), or add a [profiles.${profile}] table`,
    );
  }
  if (typeof overlay !== "object" || overlay === null || Array.isArray(overlay)) {
    throw new ConfigError(`${where}: profiles.${profile}: must be a table`);
  }
  return deepMerge(raw, overlay as Record<string, unknown>);
}

/** `input` is what was validated (the file with its profile applied): it tells a missing key from a wrong one. */
function describeIssues(error: z.ZodError, input: Record<string, unknown>, where: string, profile: string): string {
  const lines = error.issues.flatMap((issue) => {
    // One line per unknown key, named in full, with the nearest known key of its table.
    if (issue.code === "unrecognized_keys") return issue.keys.map((k) => `  ${keyPath([...issue.path, k])}: ${unknownKey(k, knownKeys(issue.path))}`);
    const missing = issue.code === "invalid_type" && valueAt(input, issue.path) === undefined;
    // A bad record key (a lane name) carries its own reason inside.
    const message = missing ? required(issue.path, input) : issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return [`  ${keyPath(issue.path) || "(top level)"}: ${message}`];
  });
  const suffix = profile === DEFAULT_PROFILE ? "" : ` (with profile "${profile}" applied)`;
  return `${where}: invalid configuration${suffix}\n${lines.join("\n")}`;
}

const keyPath = (path: readonly PropertyKey[]) => path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) v = typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** What to write for a required key the file lacks: an example in the file's own terms. */
function required(path: readonly PropertyKey[], input: Record<string, unknown>): string {
  const lanes = input.lanes;
  const lane = typeof lanes === "object" && lanes !== null ? (Object.keys(lanes)[0] ?? "<lane>") : "<lane>";
  const key = String(path.at(-1));
  if (path.length === 1 && key === "routes") return `required: add at least one [[routes]] entry, e.g. match = "*" and lane = "${lane}"`;
  if (path.length === 1 && key === "lanes") return 'required: add at least one [lanes.<name>] table, e.g. [lanes.anthropic] with base_url = "https://api.anthropic.com"';
  if (path[0] === "lanes" && key === "base_url") return 'required: the upstream\'s URL, e.g. base_url = "https://api.anthropic.com"';
  if (path[0] === "routes" && key === "match") return 'required: the glob over the client\'s model, e.g. match = "*"';
  if (path[0] === "routes" && key === "lane") return `required: the lane's name, e.g. lane = "${lane}"`;
  return `required: add ${key} = …`;
}

/** The keys the schema knows in the table at `path` (lanes.<name> is a lane, routes[i] a route). */
function knownKeys(path: readonly PropertyKey[]): string[] {
  // Defaults, optionals and a transform's input (a route's lane / lanes) lead to the table itself.
  const unwrap = (s: z.ZodType): z.ZodType => (s instanceof z.ZodDefault || s instanceof z.ZodOptional ? unwrap(s.unwrap() as z.ZodType) : s instanceof z.ZodPipe ? unwrap(s.in as z.ZodType) : s);
  let s: z.ZodType | undefined = ConfigSchema;
  for (const p of path) {
    const t: z.ZodType = unwrap(s);
    s =
      t instanceof z.ZodObject
        ? (t.shape as Record<string, z.ZodType>)[String(p)]
        : t instanceof z.ZodRecord
          ? (t.valueType as z.ZodType)
          : t instanceof z.ZodArray
            ? (t.element as z.ZodType)
            : undefined;
    if (!s) return [];
  }
  const table = unwrap(s);
  return table instanceof z.ZodObject ? Object.keys(table.shape) : [];
}

function unknownKey(key: string, known: readonly string[]): string {
  const near = nearest(key, known);
  if (near.length) return `unknown key (did you mean ${near.join(" or ")}?)`;
  return known.length ? `unknown key (known here: ${known.join(", ")})` : "unknown key";
}

/**
 * The known keys a misspelling most likely meant: those the fewest edits away (optimal string
 * alignment, as commander suggests commands), at most 3 and under 60 % of the longer name.
 */
export function nearest(word: string, candidates: readonly string[]): string[] {
  let best: string[] = [];
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d > 3 || d / Math.max(word.length, c.length) >= 0.6) continue;
    if (d < bestDistance) [best, bestDistance] = [[c], d];
    else if (d === bestDistance) best.push(c);
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
