/** What the proxy needs to know of a Messages request body, read once. */
export interface ParsedBody {
  readonly json: Record<string, unknown>;
  readonly model: string;
  readonly stream: boolean;
}

export type BodyCheck = { readonly ok: true; readonly body: ParsedBody } | { readonly ok: false; readonly message: string };

export function parseMessagesBody(bytes: Uint8Array): BodyCheck {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    return { ok: false, message: `request body is not valid JSON: ${(e as Error).message}` };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return { ok: false, message: "request body must be a JSON object" };
  const body = json as Record<string, unknown>;
  if (typeof body.model !== "string" || body.model.length === 0) return { ok: false, message: "model: a non-empty string is required" };
  return { ok: true, body: { json: body, model: body.model, stream: body.stream === true } };
}
