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
  /** $CCP_PERSIST: "0"/"false" turns persistence off, "1"/"true" on, unset leaves the config alone. */
  readonly persist: boolean | undefined;
  /** $MITM_FORCE_H1=1: HTTP/1.1 on every lane whose dialect is not anthropic (kept from the Go shim). */
  readonly forceH1: boolean;
  /** Looks up a lane key by the variable name its config gives. */
  readonly secret: (name: string) => string | undefined;
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
    persist: truthy(env.CCP_PERSIST),
    forceH1: truthy(env.MITM_FORCE_H1) === true,
    secret: (name) => env[name] || undefined,
  };
}
