import type { Config, Lane } from "../config/config.ts";
import { globToRegExp } from "./glob.ts";

export interface RouteDecision {
  readonly lane: Lane;
  /** The model name sent upstream (the client's, unless a route or the lane's map says otherwise). */
  readonly upstreamModel: string;
  /** The route's chain of lanes (lane is its first) and its quota threshold: steering may pick a later one. */
  readonly chain: { readonly lanes: readonly string[]; readonly threshold: number };
}

export type Router = (model: string) => RouteDecision | undefined;

/** The model name a lane receives for a client model, by the lane's own map (used on fallback). */
export function laneModel(lane: Pick<Lane, "models">, model: string): string {
  for (const [glob, to] of Object.entries(lane.models)) if (globToRegExp(glob).test(model)) return to;
  return model;
}

/** Ordered rules: the first route whose glob matches the client's model picks the lane. */
export function createRouter(config: Pick<Config, "routes" | "lanes">): Router {
  const rules = config.routes.map((r) => ({ test: globToRegExp(r.match), lane: config.lanes[r.lane]!, model: r.model, chain: { lanes: r.lanes, threshold: r.quota_threshold } }));
  const maps = new Map<string, { test: RegExp; to: string }[]>();
  for (const lane of Object.values(config.lanes)) {
    maps.set(
      lane.name,
      Object.entries(lane.models).map(([glob, to]) => ({ test: globToRegExp(glob), to })),
    );
  }
  return (model) => {
    const rule = rules.find((r) => r.test.test(model));
    if (!rule) return undefined;
    const mapped = maps.get(rule.lane.name)?.find((m) => m.test.test(model))?.to;
    return { lane: rule.lane, upstreamModel: rule.model ?? mapped ?? model, chain: rule.chain };
  };
}
