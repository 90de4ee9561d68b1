import { createHash, timingSafeEqual } from "node:crypto";
import type { Access } from "../config/access.ts";

/** The dedicated header for the proxy key; never forwarded, whatever the configuration. */
export const PROXY_KEY_HEADER = "x-ccp-key";

/** The one endpoint anyone may ask: liveness, which says nothing worth hiding. */
const OPEN_PATHS = new Set(["/healthz"]);

const digest = (s: string) => createHash("sha256").update(s).digest();

export type AccessCheck = { readonly ok: true } | { readonly ok: false; readonly reason: "missing" | "wrong" };

/**
 * Checks a request against the proxy key and removes the key from its headers, so nothing
 * after this point (forwarding, capture, logs) can see it. The key may come as x-ccp-key,
 * x-api-key or authorization: Bearer; x-api-key and authorization are removed only when they
 * carry the proxy key, so on a passthrough lane the client's own Anthropic credentials still
 * go through. Comparison is constant-time over digests (the length of the key does not leak).
 */
export class AccessGate {
  readonly #key: Buffer | undefined;

  constructor(access: Access) {
    this.#key = access.key === undefined ? undefined : digest(access.key);
  }

  get enabled(): boolean {
    return this.#key !== undefined;
  }

  check(headers: Headers, path: string): AccessCheck {
    const dedicated = headers.get(PROXY_KEY_HEADER);
    headers.delete(PROXY_KEY_HEADER);
    if (this.#key === undefined || OPEN_PATHS.has(path)) return { ok: true };
    let ok = dedicated !== null && this.#matches(dedicated);
    const apiKey = headers.get("x-api-key");
    const presented = dedicated !== null || apiKey !== null || headers.has("authorization");
    if (apiKey !== null && this.#matches(apiKey)) {
      headers.delete("x-api-key");
      ok = true;
    }
    const bearer = /^\s*bearer\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "")?.[1];
    if (bearer !== undefined && this.#matches(bearer)) {
      headers.delete("authorization");
      ok = true;
    }
    if (ok) return { ok: true };
    return { ok: false, reason: presented ? "wrong" : "missing" };
  }

  #matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.#key!);
  }
}
