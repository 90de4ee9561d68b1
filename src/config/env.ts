import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The only reader of the process environment (DESIGN.md principle 3).
 * Everything else receives these values as plain data.
 */
export type EnvMap = Readonly<Record<string, string | undefined>>;

export interface Env {
  /** $CCP_CONFIG */
  readonly configFile: string | undefined;
  /** $CCP_PROFILE */
  readonly profile: string | undefined;
  /** $CCP_HOME, default ~/.local/state/ccp */
  readonly home: string;
  /** ~/.config/ccp/config.toml (or $XDG_CONFIG_HOME/ccp/config.toml) */
  readonly defaultConfigFile: string;
  /** $HOME (else the account's home directory). */
  readonly userHome: string;
  /** $XDG_CONFIG_HOME, else ~/.config: where systemd user units and ccp's config live. */
  readonly configHome: string;
  /** $TMPDIR, else the system's: where `ccp demo` keeps its state. */
  readonly tmpDir: string;
  /** $CCP_SERVICE: set in a service's unit or plist ("systemd:ccp.service"), so the server says it is service-managed. */
  readonly service: string | undefined;
  /** $CCP_PERSIST: "0"/"false" turns persistence off, "1"/"true" on, unset leaves the config alone. */
  readonly persist: boolean | undefined;
  /** $MITM_FORCE_H1=1: HTTP/1.1 on every lane whose dialect is not anthropic (kept from the Go shim). */
  readonly forceH1: boolean;
  /** $CCP_REDIS_URL: the Redis that instances sharing lanes coordinate through (wins over [cluster] redis_url); may hold a password. */
  readonly redisUrl: string | undefined;
  /** $CCP_CAPTURE_DIR: capture diagnostics into this directory (turns capture on). */
  readonly captureDir: string | undefined;
  /** $CCP_INSTANCE: this ccp's name on its usage lines (wins over the config's `instance`). */
  readonly instance: string | undefined;
  /** $CCP_DATABASE_URL: the PostgreSQL usage store (wins over [store] url). A secret when it holds a password. */
  readonly databaseUrl: string | undefined;
  /** Looks up a secret by the variable name the config gives: a lane key, or the proxy key ($CCP_PROXY_KEY or proxy_key_env). */
  readonly secret: (name: string) => string | undefined;
  /** $NO_COLOR set to anything non-empty (no-color.org). */
  readonly noColor: boolean;
  /** $SHELL, for `ccp env` to pick its syntax. */
  readonly shell: string | undefined;
  /** $ANTHROPIC_DEFAULT_{HAIKU,SONNET,OPUS}_MODEL: the probe's alias overrides (the variables Claude Code honours). */
  readonly modelOverrides: Readonly<Record<"haiku" | "sonnet" | "opus", string | undefined>>;
  /** $ANTHROPIC_API_KEY / $ANTHROPIC_AUTH_TOKEN: the client credentials `ccp probe --via http` sends (never printed). */
  readonly clientKey: string | undefined;
  readonly clientToken: string | undefined;
  /** $ANTHROPIC_BASE_URL: where the Claude Code that runs `ccp statusline` sends its requests (the ccp it means). */
  readonly baseUrl: string | undefined;
  /** $ANTHROPIC_CUSTOM_HEADERS: `ccp wrap` puts the proxy key there (x-ccp-key), for Claude Code and its status line. */
  readonly customHeaders: string | undefined;
  /** Claude Code's user settings: $CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json. */
  readonly claudeSettings: string;
  /** The whole environment, for commands that hand it to a child (wrap, probe via claude). */
  readonly all: EnvMap;
}

const truthy = (v: string | undefined): boolean | undefined => {
  if (v === undefined || v === "") return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  return undefined;
};

export function readEnv(env: EnvMap = process.env): Env {
  const home = env.HOME || homedir();
  const configHome = env.XDG_CONFIG_HOME || join(home, ".config");
  return {
    configFile: env.CCP_CONFIG || undefined,
    profile: env.CCP_PROFILE || undefined,
    home: env.CCP_HOME || join(home, ".local", "state", "ccp"),
    defaultConfigFile: join(configHome, "ccp", "config.toml"),
    userHome: home,
    configHome,
    service: env.CCP_SERVICE || undefined,
    tmpDir: env.TMPDIR || "/tmp",
    persist: truthy(env.CCP_PERSIST),
    forceH1: truthy(env.MITM_FORCE_H1) === true,
    captureDir: env.CCP_CAPTURE_DIR || undefined,
    instance: env.CCP_INSTANCE || undefined,
    databaseUrl: env.CCP_DATABASE_URL || undefined,
    redisUrl: env.CCP_REDIS_URL || undefined,
    secret: (name) => env[name] || undefined,
    noColor: Boolean(env.NO_COLOR),
    shell: env.SHELL || undefined,
    modelOverrides: {
      haiku: env.ANTHROPIC_DEFAULT_HAIKU_MODEL || undefined,
      sonnet: env.ANTHROPIC_DEFAULT_SONNET_MODEL || undefined,
      opus: env.ANTHROPIC_DEFAULT_OPUS_MODEL || undefined,
    },
    clientKey: env.ANTHROPIC_API_KEY || undefined,
    clientToken: env.ANTHROPIC_AUTH_TOKEN || undefined,
    baseUrl: env.ANTHROPIC_BASE_URL || undefined,
    customHeaders: env.ANTHROPIC_CUSTOM_HEADERS || undefined,
    claudeSettings: join(env.CLAUDE_CONFIG_DIR || join(home, ".claude"), "settings.json"),
    all: env,
  };
}
