/**
 * Redaction for diagnostics captures: a capture file must never hold a credential, a
 * token or a cookie. Three layers, each enough on its own for what it knows:
 * 1. headers whose name says "credential" are replaced whole;
 * 2. every secret value known to the process (the lanes' keys, the request's own
 *    credential and cookie values) is replaced wherever it appears;
 * 3. key-shaped strings and credential-named JSON fields are replaced by pattern.
 */
export const REDACTED = "[redacted]";

const SENSITIVE_HEADER = /(^|-)(authorization|cookie|set-cookie|api-?key|token|secret|password|session|auth|credential|signature)s?($|-)/i;

export const isSensitiveHeader = (name: string): boolean => SENSITIVE_HEADER.test(name) || name.toLowerCase() === "x-api-key";

/** The values a set of request headers would leak: whole values, Bearer tokens, cookie values. */
export function secretsInHeaders(headers: Iterable<readonly [string, string]>): string[] {
  const out: string[] = [];
  for (const [name, value] of headers) {
    if (!isSensitiveHeader(name)) continue;
    out.push(value);
    const bearer = /^\s*(?:bearer|basic|token)\s+(.+)$/i.exec(value);
    if (bearer?.[1]) out.push(bearer[1].trim());
    if (/cookie/i.test(name)) {
      for (const pair of value.split(/;\s*/)) {
        const eq = pair.indexOf("=");
        if (eq > 0) out.push(pair.slice(eq + 1));
      }
    }
  }
  return out;
}

export function redactHeaders(headers: Iterable<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) out[name] = isSensitiveHeader(name) ? REDACTED : value;
  return out;
}

const PATTERNS: readonly RegExp[] = [
  // Anthropic keys and OAuth tokens (sk-ant-api03-..., sk-ant-oat01-...), OpenAI-style sk-...
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  // Z.ai-style keys: 32 hex, a dot, a secret part.
  /\b[0-9a-f]{32}\.[A-Za-z0-9]{8,}\b/g,
  // Bearer / Basic credentials in free text.
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  // JSON web tokens.
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  // AWS access key ids.
  /\bAKIA[0-9A-Z]{16}\b/g,
];

/** "api_key": "...", "authorization": "...", "cookie": "..." and friends, in JSON text. */
const JSON_FIELD = /("(?:[a-z0-9_-]*(?:api[_-]?key|access[_-]?token|refresh[_-]?token|auth[_-]?token|secret|password|authorization|cookie|session[_-]?(?:id|token)))"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** JSON's two-character escapes of characters a key may hold (RFC 8259 §7). */
export const SHORT_ESCAPES: Readonly<Record<string, string>> = { "/": "\\/", "\\": "\\\\", '"': '\\"' };

/**
 * A regex source matching the secret as JSON may write it: any of its characters as a \u
 * escape (either hex case) or, for / \\ and ", its short escape. An upstream's body or a
 * captured one may hold it that way.
 */
export function jsonEscapedForm(secret: string): string {
  return [...secret]
    .map((c) => {
      const hex = c.charCodeAt(0).toString(16).padStart(4, "0");
      const anyCase = [...hex].map((h) => (/[a-f]/.test(h) ? `[${h}${h.toUpperCase()}]` : h)).join("");
      const short = SHORT_ESCAPES[c];
      return `(?:${escapeRegExp(c)}|\\\\u${anyCase}${short ? `|${escapeRegExp(short)}` : ""})`;
    })
    .join("");
}

/**
 * The secrets worth replacing, longest first (a secret that contains another is replaced whole).
 * Values shorter than 6 characters are ignored: they would blank common words.
 */
export function knownSecrets(secrets: Iterable<string | undefined>): string[] {
  return [...new Set([...secrets].filter((s): s is string => typeof s === "string" && s.length >= 6))].sort((a, b) => b.length - a.length);
}

/** Builds a redactor for one capture: known secrets, then key-shaped patterns. */
export function redactor(secrets: Iterable<string | undefined>): (text: string) => string {
  const known = knownSecrets(secrets);
  const knownRe = known.length ? new RegExp(known.map(jsonEscapedForm).join("|"), "g") : undefined;
  return (text) => {
    let out = knownRe ? text.replace(knownRe, REDACTED) : text;
    out = out.replace(JSON_FIELD, `$1"${REDACTED}"`);
    for (const p of PATTERNS) out = out.replace(p, REDACTED);
    return out;
  };
}

/**
 * `base` (ccp's own secrets, built once) plus one request's own credentials: on a passthrough
 * lane an upstream may echo the client's token, which then must not reach a log line or a record.
 * The request's headers are read on first use only (most requests never need it).
 */
export function requestRedactor(base: (text: string) => string, headers: Headers): (text: string) => string {
  let own: string[] | undefined;
  return (text) => {
    own ??= knownSecrets(secretsInHeaders(headers));
    const out = own.reduce((t, secret) => (t.includes(secret) ? t.replaceAll(secret, REDACTED) : t), text);
    return base(out);
  };
}
