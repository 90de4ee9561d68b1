import type { Lane } from "../config/config.ts";
import { stripBillingCch } from "./billing-line.ts";
import { inlineSystemToUser } from "./inline-system.ts";
import { dropSignedThinking } from "./signed-thinking.ts";

type Json = Record<string, unknown>;

/**
 * The body a lane receives. Anthropic lanes get the client's request untouched (only the
 * model name when a route maps it); other dialects get the rewrites their providers need.
 * Returns undefined when nothing changed, so the original bytes can be sent as they came.
 */
export function rewriteForLane(body: Json, lane: Pick<Lane, "dialect">, upstreamModel: string): Json | undefined {
  let out = body.model === upstreamModel ? body : { ...body, model: upstreamModel };
  if (lane.dialect !== "anthropic") {
    out = stripBillingCch(inlineSystemToUser(dropSignedThinking(out)));
  }
  return out === body ? undefined : out;
}
