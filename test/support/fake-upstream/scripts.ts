// Scripted behaviours and how a request is matched to them (server side, pure state).

import type { Behaviour, Match } from "./protocol.ts";

export type Endpoint = "messages" | "count_tokens";

export interface Script {
  match: Match;
  queue: Behaviour[];
}

let scripts: Script[] = [];
/** Where each picked behaviour came from, so a refused request can give it back (putBack). */
const origin = new WeakMap<Behaviour, Script>();

export function addScript(match: Match, behaviours: Behaviour[]): void {
  scripts.push({ match, queue: [...behaviours] });
}

export function listScripts(): Script[] {
  return scripts;
}

export function clearScripts(): void {
  scripts = [];
}

export function matches(m: Match, p: string, endpoint: Endpoint, model: string | undefined, protocol: string): boolean | "need_model" {
  if (m.endpoint !== undefined && m.endpoint !== endpoint) return false;
  if (m.protocol !== undefined && m.protocol !== protocol) return false;
  if (m.pathPrefix !== undefined && !p.startsWith(m.pathPrefix)) return false;
  if (m.model !== undefined) {
    if (model === undefined) return "need_model";
    return m.model === model;
  }
  return true;
}

/**
 * Pick (and consume) the next behaviour. With model === undefined (body not read
 * yet) returns "need_model" when a model-constrained script comes first.
 */
export function pick(p: string, endpoint: Endpoint, model: string | undefined, bodyKnown: boolean, protocol: string): Behaviour | "need_model" {
  for (const s of scripts) {
    if (s.queue.length === 0) continue;
    const m = matches(s.match, p, endpoint, model, protocol);
    if (m === "need_model") {
      if (!bodyKnown) return "need_model";
      continue; // body known but has no model: a model-constrained script cannot match
    }
    if (m) {
      const b = s.queue.shift();
      if (b) {
        origin.set(b, s);
        return b;
      }
    }
  }
  return { kind: "normal" };
}

/** Give a picked behaviour back to the front of its script (the request it was picked for was refused first). */
export function putBack(b: Behaviour): void {
  const s = origin.get(b);
  if (s && scripts.includes(s)) s.queue.unshift(b);
}
