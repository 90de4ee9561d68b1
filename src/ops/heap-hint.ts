import type { EnvMap } from "../config/env.ts";

/**
 * The heap hint: JavaScriptCore sizes how far its heap may grow between collections from
 * the machine's RAM, so on a machine with gigabytes free a busy ccp lets garbage pile up
 * to hundreds of MB before collecting it. Telling JSC the machine has 256 MB keeps ccp's
 * peak RSS low at the same CPU per request (`bun run bench`: 200 streams 123–127 → 96–99 MB,
 * 50 × 1 MB bodies 506–567 → 270–302 MB). JSC reads it once, at process start, so it must
 * be in the environment a server process starts with; an operator's own value wins.
 */
export const HEAP_HINT_VAR = "BUN_JSC_forceRAMSize";
export const HEAP_HINT_BYTES = 256 * 1024 * 1024;

/** The environment for a ccp server process: the caller's, plus the heap hint unless it sets its own. */
export function withHeapHint(env: EnvMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  out[HEAP_HINT_VAR] ??= String(HEAP_HINT_BYTES);
  return out;
}

/** What the server log says about the hint (a foreground server started by hand may lack it). */
export function heapHintNote(env: EnvMap): string {
  const v = env[HEAP_HINT_VAR];
  return v ? `heap_hint=${Math.round(Number(v) / 1048576)}MB` : `heap_hint=off (${HEAP_HINT_VAR} unset: peak memory runs higher; see README)`;
}
