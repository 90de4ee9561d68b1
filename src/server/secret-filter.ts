import { jsonEscapedForm, knownSecrets, REDACTED } from "../usage/redact.ts";

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
  /**
   * The most bytes one secret can take in a body (every character \u-escaped). A stream filtered
   * in pieces holds back this many bytes less one, so a secret cut by a read is still found.
   */
  readonly reach: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ESCAPE = Buffer.from("\\u");

/** Undefined when there is nothing to hide (see knownSecrets for what counts). */
export function secretFilter(secrets: Iterable<string | undefined>): SecretFilter | undefined {
  const known = knownSecrets(secrets);
  if (known.length === 0) return undefined;
  const needles = known.map((s) => Buffer.from(s));
  const escaped = new RegExp(known.map(jsonEscapedForm).join("|"), "g");
  const escapedOnce = new RegExp(escaped.source);
  const plain = (s: string) => known.reduce((out, secret) => (out.includes(secret) ? out.replaceAll(secret, REDACTED) : out), s);
  const text = (s: string) => {
    const out = plain(s);
    return out.includes("\\u") ? out.replace(escaped, REDACTED) : out;
  };
  return {
    text,
    bytes(b) {
      const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      // Escapes are rare in what providers send (they write UTF-8): the regex runs only where one is.
      const found = needles.some((n) => buf.indexOf(n) !== -1) || (buf.indexOf(ESCAPE) !== -1 && escapedOnce.test(decoder.decode(b)));
      return found ? encoder.encode(text(decoder.decode(b))) : b;
    },
    reach: Math.max(...known.map((s) => s.length)) * 6,
  };
}
