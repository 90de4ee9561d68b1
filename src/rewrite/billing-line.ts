type Json = Record<string, unknown>;

/** `cch=` changes on every request (PROTOCOL.md) and defeats prefix caching on other providers. */
const CCH = /\s*\bcch=[^;\s]*;?/g;
const BILLING = /^x-anthropic-billing-header:/;

/** Removes the per-request `cch=` value from Claude Code's billing line in `system`. */
export function stripBillingCch(body: Json): Json {
  const system = body.system;
  if (typeof system === "string") return BILLING.test(system) ? { ...body, system: strip(system) } : body;
  if (!Array.isArray(system)) return body;
  let changed = false;
  const blocks = (system as Json[]).map((b) => {
    if (b?.type !== "text" || typeof b.text !== "string" || !BILLING.test(b.text)) return b;
    changed = true;
    return { ...b, text: strip(b.text) };
  });
  return changed ? { ...body, system: blocks } : body;
}

function strip(text: string): string {
  return text
    .split("\n")
    .map((line) => (BILLING.test(line) ? line.replace(CCH, "") : line))
    .join("\n");
}
