import type { Config } from "./config.ts";

/** A lane that injects its own key, without one: what a request routed there cannot do. */
export interface MissingKey {
  readonly lane: string;
  /** The environment variable the lane's key_env names. */
  readonly variable: string;
  /** The route globs that send requests to it (empty: only as a fallback lane, or not at all). */
  readonly routes: readonly string[];
}

/**
 * Lanes with `auth = "key"` whose variable is not set. Pure. `ccp start`, `restart` and
 * `config check` warn about each (a request routed there gets an answer saying which variable
 * to set, and told not to retry), rather than starting without a word.
 */
export function missingKeys(c: Pick<Config, "lanes" | "routes">): MissingKey[] {
  return Object.values(c.lanes)
    .filter((l) => l.auth === "key" && l.key === undefined)
    .map((l) => ({ lane: l.name, variable: l.key_env ?? "(no key_env)", routes: c.routes.filter((r) => r.lane === l.name).map((r) => r.match) }));
}

/** One line per missing key, as ccp says it. */
export const missingKeyWarning = (m: MissingKey): string =>
  `lane "${m.lane}" needs its key in $${m.variable}, which is not set: ${m.routes.length ? `requests for ${m.routes.join(", ")} will be refused` : "it is used by no route"} ` +
  `until you export ${m.variable} and restart ccp`;
