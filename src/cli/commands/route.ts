import type { Config } from "../../config/config.ts";
import type { Route } from "../../config/schema.ts";
import { loadConfig } from "../../config/load.ts";
import { createRouter, type RouteFacts } from "../../routing/router.ts";
import { out } from "../render.ts";

export interface RouteOptions {
  readonly model: string;
  readonly subagent?: boolean | undefined;
  readonly thinking?: boolean | undefined;
  /** ccp's estimate of the request's input tokens, as given. */
  readonly tokens?: number | undefined;
  readonly tool?: readonly string[] | undefined;
  readonly config?: string | undefined;
  readonly profile?: string | undefined;
  readonly json?: boolean | undefined;
}

/** What `ccp route` says of a described request. */
export interface RouteExplanation {
  readonly request: { readonly model: string; readonly subagent: boolean; readonly thinking: boolean; readonly input_tokens: number; readonly tools: readonly string[] };
  readonly matched: boolean;
  /** The lane was named in the model (`<lane>/<upstream model>`): no route was asked. */
  readonly picked: boolean;
  readonly route: { readonly index: number; readonly name: string | null; readonly match: string; readonly conditions: Record<string, unknown> } | null;
  readonly lane: string | null;
  readonly upstream_model: string | null;
  /** The route's chain of lanes (a later one takes the request when the first is walled). */
  readonly lanes: readonly string[];
  /** Why nothing matched. */
  readonly message: string | null;
}

const CONDITIONS = ["subagent", "thinking", "min_input_tokens", "tools_include"] as const;

export const conditionsOf = (r: Route): Record<string, unknown> => Object.fromEntries(CONDITIONS.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));

/** The route (or pick) the running router would choose for the request described. Pure. */
export function explainRoute(config: Pick<Config, "routes" | "lanes">, o: RouteOptions): RouteExplanation {
  const request = { model: o.model, subagent: o.subagent ?? false, thinking: o.thinking ?? false, input_tokens: o.tokens ?? 0, tools: [...(o.tool ?? [])] };
  const facts: RouteFacts = { model: o.model, subagent: request.subagent, thinking: request.thinking, tools: request.tools, inputTokens: () => request.input_tokens };
  const d = createRouter(config)(facts);
  if (d.kind === "none") return { request, matched: false, picked: false, route: null, lane: null, upstream_model: null, lanes: [], message: d.message };
  const r = d.route === null ? undefined : config.routes[d.route.index]!;
  const route = d.route && r ? { index: d.route.index, name: d.route.name, match: r.match, conditions: conditionsOf(r) } : null;
  return { request, matched: true, picked: d.route === null, route, lane: d.lane.name, upstream_model: d.upstreamModel, lanes: d.chain.lanes, message: null };
}

const toml = (v: unknown) => (Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(", ")}]` : typeof v === "string" ? JSON.stringify(v) : String(v));

export function renderRoute(e: RouteExplanation): string {
  const q = e.request;
  const described = [
    `model ${q.model}`,
    q.subagent ? "a subagent's" : "the main conversation's",
    q.thinking ? "thinking on" : "thinking off",
    `~${q.input_tokens} input tokens`,
    q.tools.length ? `tools ${q.tools.join(", ")}` : "no tools",
  ].join(" · ");
  if (!e.matched) return `${described}\n${out.bad("no lane")}: ${e.message}`;
  const lines = [described];
  if (e.picked) lines.push(`picked by name: lane ${out.ok(e.lane!)}, upstream model ${e.upstream_model} (routes bypassed)`);
  else {
    const r = e.route!;
    const rule = [`match = ${toml(r.match)}`, ...Object.entries(r.conditions).map(([k, v]) => `${k} = ${toml(v)}`)].join(", ");
    lines.push(`route ${r.index}${r.name ? ` (${r.name})` : ""}: ${rule}`);
    lines.push(`lane ${out.ok(e.lane!)}, upstream model ${e.upstream_model}${e.lanes.length > 1 ? out.dim(` (chain ${e.lanes.join(" → ")}: a later lane when the first is walled)`) : ""}`);
  }
  return lines.join("\n");
}

/**
 * `ccp route`: which route a described request takes, and the lane. Exit 0 when one does, 1
 * when no route matches or the pick is refused (the 400 a client would get), 2 for bad input.
 */
export function route(opts: RouteOptions): void {
  const config = loadConfig({ file: opts.config, profile: opts.profile });
  const e = explainRoute(config, opts);
  console.log(opts.json ? JSON.stringify(e, null, 2) : renderRoute(e));
  if (!e.matched) process.exitCode = 1;
}
