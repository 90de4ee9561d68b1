import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { z } from "zod";
import { makeAccess, PROXY_KEY_ENV } from "./access.ts";
import type { Config, Lane } from "./config.ts";
import { defaultRawConfig, ZAI_KEY_ENV } from "./defaults.ts";
import { readEnv, type EnvMap } from "./env.ts";
import { deepMerge } from "./merge.ts";
import { ConfigSchema } from "./schema.ts";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
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
  // --host is checked like the file's key (an address, nothing that could smuggle a URL).
  const parsed = ConfigSchema.safeParse(options.host === undefined ? overlaid : { ...overlaid, host: options.host });
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, where, profile));
  const c = parsed.data;

  const lanes: Record<string, Lane> = {};
  for (const [name, lane] of Object.entries(c.lanes)) {
    const forceH1 = env.forceH1 && lane.dialect !== "anthropic";
    lanes[name] = {
      ...lane,
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
    wrapStart: c.wrap_start,
    lanes,
    routes: c.routes,
    profile,
    source: file,
    home: env.home,
    capture: env.captureDir && c.capture === "off" ? "all" : c.capture,
    captureDir: env.captureDir ?? join(env.home, "captures"),
    retention: c.retention,
    rotation: c.rotation,
    access: makeAccess(c.proxy_key_env ?? PROXY_KEY_ENV, c.proxy_key_env !== undefined, env.secret(c.proxy_key_env ?? PROXY_KEY_ENV)),
    limits: c.limits,
  };
}

function pickFile(explicit: string | undefined, fallback: string): string | undefined {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new ConfigError(`${explicit}: config file not found`);
    return explicit;
  }
  return existsSync(fallback) ? fallback : undefined;
}

function parseToml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  try {
    return Bun.TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${file}: not valid TOML: ${(e as Error).message}`);
  }
}

function applyProfile(raw: Record<string, unknown>, profile: string, where: string): Record<string, unknown> {
  const profiles = (raw.profiles ?? {}) as Record<string, unknown>;
  const overlay = profiles[profile];
  if (overlay === undefined) {
    if (profile === DEFAULT_PROFILE) return raw;
    const known = Object.keys(profiles);
    throw new ConfigError(
      `${where}: profile "${profile}" is not defined` + (known.length ? ` (known: ${known.join(", ")})` : " (the file has no [profiles.*] tables)"),
    );
  }
  if (typeof overlay !== "object" || overlay === null || Array.isArray(overlay)) {
    throw new ConfigError(`${where}: profiles.${profile}: must be a table`);
  }
  return deepMerge(raw, overlay as Record<string, unknown>);
}

function describeIssues(error: z.ZodError, where: string, profile: string): string {
  const lines = error.issues.map((issue) => {
    const key = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
    return `  ${key || "(top level)"}: ${issue.message}`;
  });
  const suffix = profile === DEFAULT_PROFILE ? "" : ` (with profile "${profile}" applied)`;
  return `${where}: invalid configuration${suffix}\n${lines.join("\n")}`;
}
