import type { EnvMap } from "../config/env.ts";

export type Shell = "bash" | "zsh" | "fish";
export const SHELLS: readonly Shell[] = ["bash", "zsh", "fish"];

/** What pointing Claude Code at a proxy means for an environment. */
export interface EnvPlan {
  readonly set: Readonly<Record<string, string>>;
  readonly unset: readonly string[];
}

/**
 * The base URL, and no HTTP(S) proxy: a loopback base URL must not go through one
 * (PROTOCOL.md). Both spellings are unset: curl and Node read the lower-case ones too.
 */
export function proxyEnvPlan(baseUrl: string): EnvPlan {
  return { set: { ANTHROPIC_BASE_URL: baseUrl }, unset: ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"] };
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
  } else {
    for (const [k, v] of Object.entries(plan.set)) lines.push(`export ${k}=${posixQuote(v)};`);
    if (plan.unset.length) lines.push(`unset ${plan.unset.join(" ")};`);
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
  return { ...env, ...plan.set };
}
