import type { Lane } from "../config/config.ts";
import { stripBillingCch } from "./billing-line.ts";
import { inlineSystemToUser } from "./inline-system.ts";
import { dropSignedThinking, dropThinking, proofOf, thinkingStillValid } from "./signed-thinking.ts";
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
 * the rewrites their providers need. Returns undefined when nothing changed, so the original
 * bytes can be sent as they came.
 */
export function rewriteForLane(body: Json, lane: Pick<Lane, "dialect" | "base_url">, upstreamModel: string, origin: ThinkingOrigin = {}): Json | undefined {
  let out = body.model === upstreamModel ? body : { ...body, model: upstreamModel };
  if (lane.dialect !== "anthropic") {
    out = stripBillingCch(inlineSystemToUser(dropSignedThinking(out)));
  } else if (origin.dropAll || origin.signers) {
    const { signers } = origin;
    const foreign = (b: Json) => {
      if (origin.dropAll) return true;
      const proof = proofOf(b);
      const signer = proof === undefined ? undefined : signers!.signerOf(proof);
      return signer !== undefined && signer !== lane.base_url;
    };
    const kept = dropThinking(out, foreign);
    if (kept !== out) out = thinkingStillValid(kept);
  }
  return out === body ? undefined : out;
}
