/** What the proxy needs to know of a Messages request body, read once. */
export interface ParsedBody {
  readonly json: Record<string, unknown>;
  readonly model: string;
  readonly stream: boolean;
}

/** Model ids are short; a longer one is hostile or broken (and would be matched against route globs). */
export const MAX_MODEL_CHARS = 256;
/**
 * Characters a model name never has and that could forge or disguise a log line: C0/C1
 * controls (CR, LF...), Unicode line and paragraph separators, bidi overrides and isolates.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

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
  if (body.model.length > MAX_MODEL_CHARS || UNPRINTABLE.test(body.model)) {
    return { ok: false, message: `model: at most ${MAX_MODEL_CHARS} printable characters (no control, line-separator or bidi characters)` };
  }
  return { ok: true, body: { json: body, model: body.model, stream: body.stream === true } };
}
