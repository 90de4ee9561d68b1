import type { QuotaWindow, Wall } from "./window.ts";

/** Where a lane's plan stands for one request's credential, as steering needs it. */
export interface Standing {
  /** The plan refuses until its reset (a wall an answer hit, or overage the lane blocks). */
  readonly wall: Wall | undefined;
  /** A window used at or past the route's threshold. */
  readonly over: QuotaWindow | undefined;
}

export type RerouteReason = "quota_wall" | "quota_threshold";

export type Steered =
  | { readonly kind: "lane"; readonly lane: string; readonly reroutedFrom: string | null; readonly reason: RerouteReason | null }
  | { readonly kind: "walled"; readonly walls: readonly { readonly lane: string; readonly wall: Wall }[] };

/**
 * Which lane of a route's chain a request goes to. Pure. The first lane neither walled nor past
 * the threshold; when every lane left is past the threshold, the first of those (a threshold
 * steers, it does not refuse); when every lane is walled, none. When the lane is not the
 * chain's first, why the first was passed over.
 */
export function steer(chain: readonly string[], standing: (lane: string) => Standing): Steered {
  const seen = chain.map((lane) => ({ lane, ...standing(lane) }));
  const open = seen.filter((s) => s.wall === undefined);
  if (open.length === 0) return { kind: "walled", walls: seen.map((s) => ({ lane: s.lane, wall: s.wall! })) };
  const chosen = open.find((s) => s.over === undefined) ?? open[0]!;
  if (chosen.lane === chain[0]) return { kind: "lane", lane: chosen.lane, reroutedFrom: null, reason: null };
  return { kind: "lane", lane: chosen.lane, reroutedFrom: chain[0]!, reason: seen[0]!.wall ? "quota_wall" : "quota_threshold" };
}
