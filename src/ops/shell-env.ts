import { PROXY_KEY_ENV } from "../config/access.ts";
import type { EnvMap } from "../config/env.ts";
import { loadConfig } from "../config/load.ts";

export type Shell = "bash" | "zsh" | "fish";
export const SHELLS: readonly Shell[] = ["bash", "zsh", "fish"];

/** What pointing Claude Code at a proxy means for an environment. */
export interface EnvPlan {
  readonly set: Readonly<Record<string, string>>;
  readonly unset: readonly string[];
  /**
   * The variable holding the proxy key, when the proxy wants one: Claude Code then sends it
   * as `x-ccp-key` via ANTHROPIC_CUSTOM_HEADERS. Printed as a reference to the variable,
   * never as its value.
   */
  readonly proxyKeyEnv?: string | undefined;
}

const PROXY_KEY_HEADER = "x-ccp-key";

/**
 * The base URL, and no HTTP(S) proxy: a loopback base URL must not go through one
 * (PROTOCOL.md). Both spellings are unset: curl and Node read the lower-case ones too.
 */
export function proxyEnvPlan(baseUrl: string, proxyKeyEnv?: string): EnvPlan {
  return { set: { ANTHROPIC_BASE_URL: baseUrl }, unset: ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"], proxyKeyEnv };
}

const posixQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
/** fish: inside single quotes only \\ and \' are escapes. */
const fishQuote = (s: string) => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/** The lines `eval "$(ccp env)"` runs, one statement per line. */
export function renderEnv(shell: Shell, plan: EnvPlan): string {
  const lines: string[] = [];
  if (shell === "fish") {
    for (const [k, v] of Object.entries(plan.set)) lines.push(`set -gx ${k} ${fishQuote(v)};`);
    for (const k of plan.unset) lines.push(`set -e ${k};`);
    if (plan.proxyKeyEnv) lines.push(`set -gx ANTHROPIC_CUSTOM_HEADERS "${PROXY_KEY_HEADER}: $${plan.proxyKeyEnv}";`);
  } else {
    for (const [k, v] of Object.entries(plan.set)) lines.push(`export ${k}=${posixQuote(v)};`);
    if (plan.unset.length) lines.push(`unset ${plan.unset.join(" ")};`);
    if (plan.proxyKeyEnv) lines.push(`export ANTHROPIC_CUSTOM_HEADERS="${PROXY_KEY_HEADER}: \${${plan.proxyKeyEnv}}";`);
  }
  return lines.join("\n");
}

/** The shell named by $SHELL, when it is one we speak; bash otherwise. */
export function shellFromPath(shellPath: string | undefined): Shell {
  const name = (shellPath ?? "").split("/").pop() ?? "";
  return (SHELLS as readonly string[]).includes(name) ? (name as Shell) : "bash";
}

/** A child's environment: the parent's, with the plan applied. */
export function applyPlan(base: EnvMap, plan: EnvPlan): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !plan.unset.includes(k)) env[k] = v;
  const key = plan.proxyKeyEnv ? base[plan.proxyKeyEnv] : undefined;
  if (key) {
    const header = `${PROXY_KEY_HEADER}: ${key}`;
    env.ANTHROPIC_CUSTOM_HEADERS = env.ANTHROPIC_CUSTOM_HEADERS ? `${env.ANTHROPIC_CUSTOM_HEADERS}\n${header}` : header;
  }
  return { ...env, ...plan.set };
}

/**
 * The variable a client should take the proxy key from: the config's proxy_key_env (or
 * CCP_PROXY_KEY), when it is set in this environment. Undefined: no key to send.
 */
export function proxyKeyEnvFor(env: EnvMap): string | undefined {
  let name = PROXY_KEY_ENV;
  try {
    name = loadConfig({ env }).access.key_env;
  } catch {
    // An unreadable config is the start/check commands' business; fall back to the default name.
  }
  return env[name] ? name : undefined;
}
