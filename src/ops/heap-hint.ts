import type { EnvMap } from "../config/env.ts";

/**
 * The heap hint: JavaScriptCore sizes how far its heap may grow between collections from
 * the machine's RAM, so on a machine with gigabytes free a busy ccp lets garbage pile up
 * to hundreds of MB before collecting it. Two engine settings keep a proxy's peak RSS low:
 * - the machine's RAM as 256 MB (`bun run bench`: 200 streams 123–127 → 96–99 MB, 50 × 1 MB
 *   bodies 506–567 → 270–302 MB, CPU per request unchanged);
 * - a small heap grows 1.5× between collections instead of 2× (200 streams a further
 *   −6 to −10 MB; CPU per request within the run-to-run noise, at most ~+10 %).
 * JSC reads them once, at process start, so they must be in the environment a server
 * process starts with; an operator's own value of either wins. They are engine settings
 * of the Bun that ccp is built with (an unknown one stops Bun at start-up), which the
 * tests start ccp with.
 */
export const HEAP_HINT: Readonly<Record<string, string>> = {
  BUN_JSC_forceRAMSize: String(256 * 1024 * 1024),
  BUN_JSC_smallHeapGrowthFactor: "1.5",
};
const RAM_VAR = "BUN_JSC_forceRAMSize";

/** The environment for a ccp server process: the caller's, plus each heap hint setting it does not set itself. */
export function withHeapHint(env: EnvMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  for (const [k, v] of Object.entries(HEAP_HINT)) out[k] ??= v;
  return out;
}

/** What the server log says about the hint (a foreground server started by hand may lack it). */
export function heapHintNote(env: EnvMap): string {
  const ram = env[RAM_VAR];
  if (!ram) return `heap_hint=off (${RAM_VAR} unset: peak memory runs higher; see README)`;
  const growth = env.BUN_JSC_smallHeapGrowthFactor;
  return `heap_hint=${Math.round(Number(ram) / 1048576)}MB${growth ? ` growth=${growth}` : ""}`;
}
