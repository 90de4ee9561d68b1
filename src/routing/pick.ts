import type { Config, Lane } from "../config/config.ts";
import { globToRegExp } from "./glob.ts";

/** A lane a client may name in its model (`<lane>/<upstream model>`): pick_by_name, by default only a lane with its own key. */
export const canPickByName = (lane: Pick<Lane, "auth" | "pick_by_name">): boolean => lane.pick_by_name ?? lane.auth === "key";

/** The lanes a client may pick by name, in config order. */
export const pickableLanes = (config: Pick<Config, "lanes">): string[] =>
  Object.values(config.lanes)
    .filter(canPickByName)
    .map((l) => l.name);

export type ByName =
  /** The model names a lane that allows it: that lane, with the model after the slash. */
  | { readonly kind: "pick"; readonly lane: Lane; readonly upstreamModel: string }
  /** The model has the form but cannot be picked: why, for a 400. */
  | { readonly kind: "refused"; readonly message: string };

function lanesThatCan(config: Pick<Config, "lanes">): string {
  const lanes = pickableLanes(config);
  return lanes.length === 0 ? "no lane can be picked by name here (pick_by_name)" : `lanes that can be picked by name: ${lanes.join(", ")} (e.g. ${lanes[0]}/<upstream model>)`;
}

/**
 * A model of the form `<lane>/<upstream model>`: the lane it picks, or why it cannot, or
 * undefined when the model is not a pick (no slash; or the part before it names no lane and a
 * route whose glob holds a slash matches it: an upstream whose own model names have one). Pure.
 */
export function pickByName(config: Pick<Config, "lanes" | "routes">, model: string): ByName | undefined {
  const slash = model.indexOf("/");
  if (slash < 0) return undefined;
  const name = model.slice(0, slash);
  const upstreamModel = model.slice(slash + 1);
  const lane = Object.hasOwn(config.lanes, name) ? config.lanes[name] : undefined;
  if (!lane) {
    if (config.routes.some((r) => r.match.includes("/") && globToRegExp(r.match).test(model))) return undefined;
    return { kind: "refused", message: `model "${model}" names no lane "${name}"; ${lanesThatCan(config)}` };
  }
  if (!canPickByName(lane)) {
    const why = lane.pick_by_name === false && lane.auth === "key" ? "pick_by_name = false" : "it passes the client's own credentials on (pick_by_name is off for passthrough lanes unless set)";
    return { kind: "refused", message: `lane "${name}" cannot be picked by name: ${why}; ${lanesThatCan(config)}` };
  }
  if (upstreamModel === "") return { kind: "refused", message: `model "${model}" names lane "${name}" but no upstream model: write ${name}/<upstream model>` };
  return { kind: "pick", lane, upstreamModel };
}
