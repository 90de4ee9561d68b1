import { createHash, timingSafeEqual } from "node:crypto";
import { ANONYMOUS_CLIENT, type Access } from "../config/access.ts";

/** The dedicated header for the proxy key; never forwarded, whatever the configuration. */
export const PROXY_KEY_HEADER = "x-ccp-key";

/** The one endpoint anyone may ask: liveness, which says nothing worth hiding. */
const OPEN_PATHS = new Set(["/healthz"]);

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Let in, and as whom: the named client whose key was presented, "anonymous" for the proxy key,
 * no client when this ccp has no key at all (or the path is open).
 */
export type AccessCheck = { readonly ok: true; readonly client?: string } | { readonly ok: false; readonly reason: "missing" | "wrong" };

interface KnownKey {
  readonly digest: Buffer;
  readonly client: string;
}

/**
 * Checks a request against the proxy key and the named clients' keys and removes the key from
 * its headers, so nothing after this point (forwarding, capture, logs) can see it. A key may come
 * as x-ccp-key, x-api-key or authorization: Bearer; x-api-key and authorization are removed only
 * when they carry a key of ccp's, so on a passthrough lane the client's own Anthropic credentials
 * still go through. Comparison is constant-time over digests (the length of the key does not
 * leak), and every known key is compared (which one matched does not leak either).
 */
export class AccessGate {
  readonly #keys: readonly KnownKey[];

  constructor(access: Access) {
    const keys: KnownKey[] = [];
    if (access.key !== undefined) keys.push({ digest: digest(access.key), client: ANONYMOUS_CLIENT });
    for (const c of access.clients) if (c.key !== undefined) keys.push({ digest: digest(c.key), client: c.name });
    this.#keys = keys;
  }

  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  check(headers: Headers, path: string): AccessCheck {
    const dedicated = headers.get(PROXY_KEY_HEADER);
    headers.delete(PROXY_KEY_HEADER);
    if (!this.enabled || OPEN_PATHS.has(path)) return { ok: true };
    let client = dedicated === null ? undefined : this.#match(dedicated);
    const apiKey = headers.get("x-api-key");
    const presented = dedicated !== null || apiKey !== null || headers.has("authorization");
    // A header sent twice arrives as one value joined by commas: each part is a candidate, and a key
    // of ccp's in any part takes the whole header away (it must never reach an upstream).
    const byApiKey = this.#matchParts(apiKey, (part) => part);
    if (byApiKey !== undefined) {
      headers.delete("x-api-key");
      client ??= byApiKey;
    }
    const byBearer = this.#matchParts(headers.get("authorization"), (part) => /^bearer\s+(\S+)$/i.exec(part)?.[1]);
    if (byBearer !== undefined) {
      headers.delete("authorization");
      client ??= byBearer;
    }
    if (client !== undefined) return { ok: true, client };
    return { ok: false, reason: presented ? "wrong" : "missing" };
  }

  /** The client of the first part of a header value (split on commas, trimmed) that holds a key of ccp's. */
  #matchParts(value: string | null, keyOf: (part: string) => string | undefined): string | undefined {
    if (value === null) return undefined;
    let found: string | undefined;
    for (const part of [value.trim(), ...value.split(",").map((p) => p.trim())]) {
      const key = keyOf(part);
      const client = key === undefined || key === "" ? undefined : this.#match(key);
      found ??= client;
    }
    return found;
  }

  /** The client whose key this is, comparing with every key so the time taken says nothing. */
  #match(candidate: string): string | undefined {
    const d = digest(candidate);
    let found: string | undefined;
    for (const k of this.#keys) if (timingSafeEqual(d, k.digest) && found === undefined) found = k.client;
    return found;
  }
}
