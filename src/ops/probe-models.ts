/**
 * Short names the probe accepts, and the ids they stand for today: the newest of each family
 * that Claude Code 2.1.330 itself names (its binary's model table). Overridable per alias.
 */
export const MODEL_ALIASES = {
  haiku: "claude-haiku-4-5-20251001",
  sonnet: "claude-sonnet-4-6",
  opus: "claude-opus-4-8",
} as const;

export type Alias = keyof typeof MODEL_ALIASES;

/**
 * An alias's current id, overridden by the variable Claude Code itself honours
 * (ANTHROPIC_DEFAULT_HAIKU_MODEL ...); anything else is a model id already.
 */
export function resolveModel(name: string, overrides: Readonly<Partial<Record<Alias, string | undefined>>>): string {
  const key = name.toLowerCase();
  if (key in MODEL_ALIASES) return overrides[key as Alias] ?? MODEL_ALIASES[key as Alias];
  return name;
}
