import { jsonEscapedForm, knownSecrets, REDACTED, SHORT_ESCAPES } from "../usage/redact.ts";

/**
 * Keeps ccp's own secrets (the lanes' keys, the proxy key) out of what a client receives. An
 * upstream may echo the credential it was sent, in an error message, a header or anywhere in a
 * body; on a shared gateway the lane's key must still never reach a client. In JSON (every body
 * ccp passes on is JSON or SSE with JSON data) a secret may also be written with \u escapes.
 */
export interface SecretFilter {
  /** The text with every known secret replaced. */
  text(s: string): string;
  /** The bytes, the same array when they hold no secret (the usual case: one indexOf per secret). */
  bytes(b: Uint8Array): Uint8Array;
  /** A header name holds a secret (names are compared lower-cased: Headers lower-case them). */
  inName(name: string): boolean;
  /**
   * The most bytes one secret can take in a body (every character \u-escaped). A stream filtered
   * in pieces holds back this many bytes less one, so a secret cut by a read is still found.
   */
  readonly reach: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Where the last whole UTF-8 character of `b` ends (before a sequence the piece cuts short). */
export function completeUtf8(b: Uint8Array): number {
  for (let i = b.byteLength - 1; i >= Math.max(0, b.byteLength - 4); i--) {
    const byte = b[i]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return i + needed > b.byteLength ? i : b.byteLength;
  }
  return b.byteLength;
}

/** Undefined when there is nothing to hide (see knownSecrets for what counts). */
export function secretFilter(secrets: Iterable<string | undefined>): SecretFilter | undefined {
  const known = knownSecrets(secrets);
  if (known.length === 0) return undefined;
  const needles = known.map((s) => Buffer.from(s));
  const lowered = known.map((s) => s.toLowerCase());
  const escaped = new RegExp(known.map(jsonEscapedForm).join("|"), "g");
  const escapedOnce = new RegExp(escaped.source);
  // What a secret written with escapes must contain: \u, or the short escape of one of its characters.
  const escapes = [
    "\\u",
    ...Object.entries(SHORT_ESCAPES)
      .filter(([c]) => known.some((s) => s.includes(c)))
      .map(([, e]) => e),
  ].map((e) => Buffer.from(e));
  const plain = (s: string) => known.reduce((out, secret) => (out.includes(secret) ? out.replaceAll(secret, REDACTED) : out), s);
  const text = (s: string) => {
    const out = plain(s);
    return out.includes("\\") ? out.replace(escaped, REDACTED) : out;
  };
  return {
    text,
    bytes(b) {
      const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      // Escapes are rare in what providers send (they write UTF-8): the regex runs only where one is.
      const found = needles.some((n) => buf.indexOf(n) !== -1) || (escapes.some((e) => buf.indexOf(e) !== -1) && escapedOnce.test(decoder.decode(b)));
      if (!found) return b;
      // Decoded up to the last whole character: a piece of a stream may end inside one.
      const end = completeUtf8(b);
      const hidden = encoder.encode(text(decoder.decode(b.subarray(0, end))));
      return end === b.byteLength ? hidden : Buffer.concat([hidden, b.subarray(end)]);
    },
    inName: (name) => lowered.some((secret) => name.toLowerCase().includes(secret)),
    reach: Math.max(...known.map((s) => s.length)) * 6,
  };
}
