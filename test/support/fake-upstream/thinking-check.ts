// The check of a messages request's thinking blocks while verifySignatures is on, with
// Anthropic's wording for what it refuses (HTTP 400 invalid_request_error).

import { isRedactedData, isSignedThinking } from "./signatures.ts";

export interface Refusal {
  /** recorded as the request's behaviour */
  behaviour: "invalid_signature" | "missing_thinking";
  message: string;
}

interface Block {
  type?: unknown;
  thinking?: unknown;
  signature?: unknown;
  data?: unknown;
}

interface Message {
  role?: unknown;
  content?: unknown;
}

function blocks(m: Message | null | undefined): Block[] {
  return Array.isArray(m?.content) ? (m.content as Block[]) : [];
}

/** A thinking or redacted_thinking block that this instance did not make in this realm. */
function badBlock(b: Block | null, realm: string): boolean {
  if (b?.type === "thinking") return !(typeof b.thinking === "string" && typeof b.signature === "string" && isSignedThinking(realm, b.thinking, b.signature));
  if (b?.type === "redacted_thinking") return !(typeof b.data === "string" && isRedactedData(realm, b.data));
  return false;
}

const MISSING_THINKING =
  "When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). " +
  "We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`.";

/**
 * Why Anthropic would refuse this request body, or undefined:
 * - an assistant message's thinking block whose signature this instance did not make in this
 *   realm for exactly that text, or a redacted_thinking block whose data it did not make in this
 *   realm: "messages.<i>.content.<j>: Invalid `signature` in `thinking` block";
 * - with `thinking: {type: "enabled"}`, a last assistant message holding a tool_use block that
 *   does not start with a thinking or redacted_thinking block.
 */
export function thinkingRefusal(body: unknown, realm: string): Refusal | undefined {
  const req = body as { messages?: unknown; thinking?: { type?: unknown } | null } | null | undefined;
  if (!req || typeof req !== "object" || !Array.isArray(req.messages)) return undefined;
  const messages = req.messages as (Message | null)[];
  let last = -1;
  for (const [i, m] of messages.entries()) {
    if (m?.role !== "assistant") continue;
    last = i;
    const j = blocks(m).findIndex((b) => badBlock(b, realm));
    if (j >= 0) return { behaviour: "invalid_signature", message: `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block` };
  }
  if (req.thinking?.type !== "enabled" || last < 0) return undefined;
  const content = blocks(messages[last]);
  if (!content.some((b) => b?.type === "tool_use")) return undefined;
  const first = content[0]?.type;
  if (first === "thinking" || first === "redacted_thinking") return undefined;
  return {
    behaviour: "missing_thinking",
    message: `messages.${last}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first)}\`. ${MISSING_THINKING}`,
  };
}
