// Sticky response headers (POST /headers): added to every answer of the messages and
// count_tokens endpoints whose request matches, until reset or replaced.

import type { Match } from "./protocol.ts";
import { type Endpoint, matches } from "./scripts.ts";

interface Sticky {
  key: string;
  match: Match;
  headers: Record<string, string>;
}

let sticky: Sticky[] = [];

/** The same match however its fields were ordered or left undefined. */
function matchKey(m: Match): string {
  const entries = Object.entries(m).filter(([, v]) => v !== undefined);
  return JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Replace the headers set for this match (an empty object removes them). Names are stored lower-case. */
export function setSticky(headers: Record<string, string>, match: Match): void {
  const key = matchKey(match);
  sticky = sticky.filter((s) => s.key !== key);
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = String(value);
  if (Object.keys(lower).length > 0) sticky.push({ key, match, headers: lower });
}

export function clearSticky(): void {
  sticky = [];
}

/** The sticky headers for a request: those of every matching set, a later set winning on a shared name. */
export function stickyFor(p: string, endpoint: Endpoint, model: string | undefined, protocol: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sticky) if (matches(s.match, p, endpoint, model, protocol) === true) Object.assign(out, s.headers);
  return out;
}

type Head = Record<string, string | string[]>;

/**
 * Make every writeHead of this response add the sticky headers (looked up when the head is
 * written, once the body, so the model, is known). A name the behaviour sets itself (any case)
 * keeps the behaviour's value.
 */
export function addStickyHeaders(res: { writeHead(status: number, headers: Record<string, string>): unknown }, lookup: () => Record<string, string>): void {
  const writeHead = res.writeHead.bind(res);
  res.writeHead = (status: number, headers: Head = {}): unknown => {
    const extra = lookup();
    if (Object.keys(extra).length === 0) return writeHead(status, headers as Record<string, string>);
    const own = new Set(Object.keys(headers).map((n) => n.toLowerCase()));
    const merged: Head = {};
    for (const [name, value] of Object.entries(extra)) if (!own.has(name)) merged[name] = value;
    return writeHead(status, { ...merged, ...headers } as Record<string, string>);
  };
}
