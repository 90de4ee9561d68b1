import type { Config, Lane } from "../config/config.ts";
import type { Route } from "../config/schema.ts";
import { globToRegExp } from "./glob.ts";
import { pickByName } from "./pick.ts";
import type { RouteFacts } from "./request-facts.ts";

export type { RouteFacts };

/** The [[routes]] entry that matched: its index in the file (from 0) and its name. */
export interface MatchedRoute {
  readonly index: number;
  readonly name: string | null;
}

export interface RouteDecision {
  readonly kind: "routed";
  readonly lane: Lane;
  /** The model name sent upstream (the client's, unless a route, the lane's map or a pick says otherwise). */
  readonly upstreamModel: string;
  /** The route's chain of lanes (lane is its first) and its quota threshold: steering may pick a later one. */
  readonly chain: { readonly lanes: readonly string[]; readonly threshold: number };
  /** The rule that matched; null when the client picked the lane by name (`<lane>/<model>`). */
  readonly route: MatchedRoute | null;
}

/** No lane for this request: why, for the client's 400. */
export interface NoRoute {
  readonly kind: "none";
  readonly message: string;
}

export type Router = (facts: RouteFacts) => RouteDecision | NoRoute;

/** The model name a lane receives for a client model, by the lane's own map (used on fallback). */
export function laneModel(lane: Pick<Lane, "models">, model: string): string {
  for (const [glob, to] of Object.entries(lane.models)) if (globToRegExp(glob).test(model)) return to;
  return model;
}

type Conditions = Pick<Route, "subagent" | "thinking" | "min_input_tokens" | "tools_include">;

/** Every condition the route gives holds for the request; the token estimate is asked last (it walks the body). */
export function conditionsHold(route: Conditions, facts: RouteFacts): boolean {
  if (route.subagent !== undefined && route.subagent !== (facts.subagent ?? false)) return false;
  if (route.thinking !== undefined && route.thinking !== (facts.thinking ?? false)) return false;
  if (route.tools_include !== undefined && !route.tools_include.every((t) => facts.tools?.includes(t))) return false;
  if (route.min_input_tokens !== undefined && (facts.inputTokens?.() ?? 0) < route.min_input_tokens) return false;
  return true;
}

/**
 * A model of the form `<lane>/<upstream model>` goes to that lane when it allows it (pick.ts);
 * otherwise the ordered rules: the first route whose glob matches the model and whose
 * conditions all hold picks the lane. Pure.
 */
export function createRouter(config: Pick<Config, "routes" | "lanes">): Router {
  const rules = config.routes.map((r, index) => ({
    test: globToRegExp(r.match),
    route: r,
    matched: { index, name: r.name ?? null },
    lane: config.lanes[r.lane]!,
    chain: { lanes: r.lanes, threshold: r.quota_threshold },
  }));
  const maps = new Map<string, { test: RegExp; to: string }[]>();
  for (const lane of Object.values(config.lanes)) {
    maps.set(
      lane.name,
      Object.entries(lane.models).map(([glob, to]) => ({ test: globToRegExp(glob), to })),
    );
  }
  return (facts) => {
    const { model } = facts;
    const picked = pickByName(config, model);
    if (picked?.kind === "refused") return { kind: "none", message: picked.message };
    if (picked) return { kind: "routed", lane: picked.lane, upstreamModel: picked.upstreamModel, chain: { lanes: [picked.lane.name], threshold: 1 }, route: null };
    const rule = rules.find((r) => r.test.test(model) && conditionsHold(r.route, facts));
    if (!rule) return { kind: "none", message: noRouteMessage(config, model) };
    const mapped = maps.get(rule.lane.name)?.find((m) => m.test.test(model))?.to;
    return { kind: "routed", lane: rule.lane, upstreamModel: rule.route.model ?? mapped ?? model, chain: rule.chain, route: rule.matched };
  };
}

function noRouteMessage(config: Pick<Config, "routes">, model: string): string {
  const globMatches = config.routes.some((r) => globToRegExp(r.match).test(model));
  return globMatches
    ? `no route matches this request for model "${model}" (routes match its model, but not their conditions); add a [[routes]] entry with match = "*" and no conditions, last`
    : `no route matches model "${model}"; add a [[routes]] entry with match = "*"`;
}
