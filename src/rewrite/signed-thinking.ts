type Json = Record<string, unknown>;
type Block = Json;

/**
 * Drops the assistant `thinking` / `redacted_thinking` blocks `which` names. A message left with
 * no content keeps a placeholder text block so turns still alternate. Returns the body itself
 * when nothing was dropped.
 */
export function dropThinking(body: Json, which: (block: Block) => boolean): Json {
  if (!Array.isArray(body.messages)) return body;
  let changed = false;
  const messages = (body.messages as unknown[]).map((m) => {
    const msg = m as Json;
    if (msg?.role !== "assistant" || !Array.isArray(msg.content)) return m;
    const kept = (msg.content as Block[]).filter((b) => !(isThinking(b) && which(b)));
    if (kept.length === msg.content.length) return m;
    changed = true;
    return { ...msg, content: kept.length > 0 ? kept : [{ type: "text", text: "(thinking omitted)" }] };
  });
  return changed ? { ...body, messages } : body;
}

const isThinking = (b: Block): boolean => b?.type === "thinking" || b?.type === "redacted_thinking";

/** The body has a thinking block in an assistant message. */
export const hasThinking = (body: Json): boolean => dropThinking(body, () => true) !== body;

/** What proves who made a thinking block: its signature, or a redacted block's data. */
export const proofOf = (b: Block): string | undefined => {
  const v = b?.type === "redacted_thinking" ? b.data : b?.signature;
  return typeof v === "string" && v.length > 0 ? v : undefined;
};

/**
 * Drops thinking blocks that carry a signature: another provider cannot verify them
 * (PROTOCOL.md), and they mean nothing to it.
 */
export const dropSignedThinking = (body: Json): Json => dropThinking(body, (b) => b.type === "redacted_thinking" || proofOf(b) !== undefined);

/**
 * With thinking on, Anthropic wants the last assistant message of a tool loop to start with a
 * thinking block. When ccp dropped that block (another provider signed it), thinking is turned
 * off for this request rather than have it refused.
 */
export function thinkingStillValid(body: Json): Json {
  const thinking = body.thinking as { type?: unknown } | undefined;
  if (!thinking || thinking.type === "disabled" || !Array.isArray(body.messages)) return body;
  const last = (body.messages as Json[]).findLast((m) => m?.role === "assistant");
  if (!last || !Array.isArray(last.content)) return body;
  const blocks = last.content as Block[];
  if (!blocks.some((b) => b?.type === "tool_use") || isThinking(blocks[0]!)) return body;
  const { thinking: _off, ...rest } = body;
  return rest;
}
