import { knownSecrets, REDACTED } from "../usage/redact.ts";

/**
 * Keeps ccp's own secrets (the lanes' keys, the proxy key) out of what a client receives. An
 * upstream may echo the credential it was sent, in an error message or anywhere in a body;
 * on a shared gateway the lane's key must still never reach a client.
 */
export interface SecretFilter {
  /** The text with every known secret replaced. */
  text(s: string): string;
  /** The bytes, the same array when they hold no secret (the usual case: one indexOf per secret). */
  bytes(b: Uint8Array): Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Undefined when there is nothing to hide (see knownSecrets for what counts). */
export function secretFilter(secrets: Iterable<string | undefined>): SecretFilter | undefined {
  const known = knownSecrets(secrets);
  if (known.length === 0) return undefined;
  const needles = known.map((s) => Buffer.from(s));
  const text = (s: string) => known.reduce((out, secret) => (out.includes(secret) ? out.replaceAll(secret, REDACTED) : out), s);
  return {
    text,
    bytes(b) {
      const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      return needles.some((n) => buf.indexOf(n) !== -1) ? encoder.encode(text(decoder.decode(b))) : b;
    },
  };
}
