import type { Lane } from "../config/config.ts";
import type { Refusal } from "./client-request.ts";
import type { ServerContext } from "./context.ts";
import { readMessagesBody } from "./read-messages-body.ts";
import type { ParsedBody } from "./request-body.ts";
import type { Endpoint } from "../upstream/upstream-url.ts";
import type { Chain } from "../quota/desk.ts";
import { requestFacts } from "../routing/request-facts.ts";
import { laneModel, type MatchedRoute } from "../routing/router.ts";
import { pickByName } from "../routing/pick.ts";

/** A request read and routed: its body (none for /v1/models) and the lane it goes to first. */
export interface Routed {
  readonly ok: true;
  readonly parsed: ParsedBody | undefined;
  readonly bytes: Uint8Array | undefined;
  readonly lane: Lane;
  /** The model name the first lane is sent (undefined for /v1/models). */
  readonly model: string | undefined;
  /** The route's chain of lanes (lane is its first) and quota threshold. */
  readonly chain: Chain;
  /** The [[routes]] entry that matched; null when the client picked the lane by name. */
  readonly route: MatchedRoute | null;
}

/** Refused before any attempt; `parsed` when the body was read (the record names its model). */
export type Unrouted = Refusal & { readonly ok: false; readonly parsed?: ParsedBody | undefined };

/**
 * Reads the body once, bounded (limits.max_body_mb bytes, limits.body_timeout_ms,
 * limits.max_json_nodes values, a share of limits.max_inflight_body_mb), checks it is a
 * Messages body, and asks the router for a lane.
 * /v1/models has no body: it goes to the catch-all route's lane.
 */
export async function readAndRoute(ctx: ServerContext, req: Request, endpoint: Endpoint, laneOverride?: string): Promise<Routed | Unrouted> {
  if (endpoint === "/v1/models") {
    const index = Math.max(
      0,
      ctx.config.routes.findIndex((r) => r.match === "*"),
    );
    const catchAll = ctx.config.routes[index]!;
    const route = { index, name: catchAll.name ?? null };
    return { ok: true, parsed: undefined, bytes: undefined, lane: ctx.config.lanes[catchAll.lane]!, model: undefined, chain: { lanes: catchAll.lanes, threshold: catchAll.quota_threshold }, route };
  }
  // Bounded in bytes, time, JSON values and bodies in flight (read-messages-body.ts).
  const read = await readMessagesBody(req, ctx);
  if (!read.ok) {
    const left = read.status === 499;
    return {
      ok: false,
      status: left ? 400 : read.status,
      message: read.message,
      errType: read.errType,
      failureClass: left ? "client_abort" : undefined,
      headers: read.headers,
    };
  }
  const parsed = read.body;
  if (laneOverride !== undefined) return onLane(ctx, parsed, read.bytes, ctx.config.lanes[laneOverride]!);
  const decision = ctx.router(requestFacts(parsed, req.headers));
  if (decision.kind === "none") return { ok: false, status: 400, message: decision.message, parsed };
  return { ok: true, parsed, bytes: read.bytes, lane: decision.lane, model: decision.upstreamModel, chain: { ...decision.chain, model: parsed.model }, route: decision.route };
}

/**
 * A replay sent to a lane by name (`ccp replay --lane`): the routes are not asked; the model is
 * the one after the slash when the client's model picks this very lane, else the lane's map's.
 */
function onLane(ctx: ServerContext, parsed: ParsedBody, bytes: Uint8Array, lane: Lane): Routed {
  const picked = pickByName(ctx.config, parsed.model);
  const model = picked?.kind === "pick" && picked.lane.name === lane.name ? picked.upstreamModel : laneModel(lane, parsed.model);
  return { ok: true, parsed, bytes, lane, model, chain: { lanes: [lane.name], threshold: 1, model: parsed.model }, route: null };
}
