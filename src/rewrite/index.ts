import type { Lane } from "../config/config.ts";
import { stripBillingCch } from "./billing-line.ts";
import { inlineSystemToUser } from "./inline-system.ts";
import { dropThinking, proofOf, thinkingStillValid } from "./signed-thinking.ts";
import type { Signers } from "./signers.ts";

type Json = Record<string, unknown>;

export interface ThinkingOrigin {
  /** Who signed the thinking blocks ccp has passed on. */
  readonly signers?: Signers | undefined;
  /** Drop every thinking block (the upstream refused a signature ccp could not place). */
  readonly dropAll?: boolean | undefined;
}

/**
 * The body a lane receives. Anthropic lanes get the client's request untouched (the model name
 * when a route maps it; thinking blocks another provider signed are dropped); other dialects get
 * the rewrites their providers need, and of the signed thinking blocks only those they made.
 * When that leaves an open tool loop without its thinking block, thinking is off for the request. Returns undefined when nothing changed, so the original
 * bytes can be sent as they came.
 */
export function rewriteForLane(body: Json, lane: Pick<Lane, "dialect" | "base_url">, upstreamModel: string, origin: ThinkingOrigin = {}): Json | undefined {
  let out = body.model === upstreamModel ? body : { ...body, model: upstreamModel };
  const signerOf = (b: Json) => {
    const proof = proofOf(b);
    return proof === undefined ? undefined : origin.signers?.signerOf(proof);
  };
  // Another provider's blocks never reach this one. An Anthropic lane keeps blocks ccp cannot
  // place (the client's own history); another dialect keeps only the signed blocks it made.
  const foreign =
    lane.dialect === "anthropic"
      ? (b: Json) => origin.dropAll === true || (signerOf(b) ?? lane.base_url) !== lane.base_url
      : (b: Json) => (b.type === "redacted_thinking" || proofOf(b) !== undefined) && signerOf(b) !== lane.base_url;
  const kept = lane.dialect === "anthropic" && !origin.dropAll && !origin.signers ? out : dropThinking(out, foreign);
  if (kept !== out) out = thinkingStillValid(kept);
  if (lane.dialect !== "anthropic") out = stripBillingCch(inlineSystemToUser(out));
  return out === body ? undefined : out;
}
