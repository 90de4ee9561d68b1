type Json = Record<string, unknown>;

/**
 * Drops assistant `thinking` / `redacted_thinking` blocks that carry an Anthropic signature:
 * another provider cannot verify them (PROTOCOL.md), and they mean nothing to it.
 * A message left with no content keeps a placeholder text block so turns still alternate.
 */
export function dropSignedThinking(body: Json): Json {
  if (!Array.isArray(body.messages)) return body;
  let changed = false;
  const messages = (body.messages as unknown[]).map((m) => {
    const msg = m as Json;
    if (msg?.role !== "assistant" || !Array.isArray(msg.content)) return m;
    const kept = (msg.content as Json[]).filter((b) => !isSignedThinking(b));
    if (kept.length === msg.content.length) return m;
    changed = true;
    return { ...msg, content: kept.length > 0 ? kept : [{ type: "text", text: "(thinking omitted)" }] };
  });
  return changed ? { ...body, messages } : body;
}

function isSignedThinking(block: Json): boolean {
  if (block?.type === "redacted_thinking") return true;
  return block?.type === "thinking" && typeof block.signature === "string" && block.signature.length > 0;
}
