type Json = Record<string, unknown>;

/**
 * Claude Code (2.1.153+) puts `{"role":"system"}` entries inside `messages`; Z.ai, MiniMax
 * and Kimi reject them (PROTOCOL.md). Each becomes a text block, wrapped in <system-reminder>
 * tags, at the same place in the conversation: appended to the user turn before it, or
 * prepended to the user turn after it, or as a user turn of its own.
 */
export function inlineSystemToUser(body: Json): Json {
  if (!Array.isArray(body.messages) || !(body.messages as Json[]).some((m) => m?.role === "system")) return body;
  const out: Json[] = [];
  let pending: Json[] = [];
  for (const m of body.messages as Json[]) {
    if (m?.role === "system") {
      const blocks = toBlocks(m.content);
      const prev = out.at(-1);
      if (prev?.role === "user" && pending.length === 0) out[out.length - 1] = { ...prev, content: [...toContent(prev.content), ...blocks] };
      else pending.push(...blocks);
      continue;
    }
    if (pending.length > 0) {
      if (m?.role === "user") {
        out.push({ ...m, content: [...pending, ...toContent(m.content)] });
        pending = [];
        continue;
      }
      out.push({ role: "user", content: pending });
      pending = [];
    }
    out.push(m);
  }
  if (pending.length > 0) out.push({ role: "user", content: pending });
  return { ...body, messages: out };
}

function toContent(content: unknown): Json[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content) ? (content as Json[]) : [];
}

function toBlocks(content: unknown): Json[] {
  const text = toContent(content)
    .map((b) => (typeof b.text === "string" ? b.text : ""))
    .filter(Boolean)
    .join("\n");
  return text ? [{ type: "text", text: `<system-reminder>\n${text}\n</system-reminder>` }] : [];
}
