import zlib from "node:zlib";

/**
 * Response bodies in a content coding (RFC 9110 §8.4). ccp asks every upstream for
 * `accept-encoding: identity`, because it must read what it passes on (the observer, the
 * secret filter, error classification), but a CDN or gateway in front of a provider may
 * compress anyway. A body read whole (an error answer, a JSON message) is decoded, within a
 * bound on what it may grow to; a compressed event stream is refused (`protocol`).
 */
export type Coding = "identity" | "gzip" | "deflate" | "br" | "zstd";

const KNOWN: ReadonlySet<string> = new Set(["identity", "gzip", "x-gzip", "deflate", "br", "zstd"]);

/** The response's content coding; undefined when it is one ccp cannot decode (or several stacked). */
export function contentCoding(headers: ReadonlyArray<readonly [string, string]>): Coding | undefined {
  const values = headers.filter(([k]) => k === "content-encoding").flatMap(([, v]) => v.split(","));
  const codings = values.map((v) => v.trim().toLowerCase()).filter((v) => v !== "" && v !== "identity");
  if (codings.length === 0) return "identity";
  if (codings.length > 1 || !KNOWN.has(codings[0]!)) return undefined;
  return codings[0] === "x-gzip" ? "gzip" : (codings[0] as Coding);
}

/** The decoded body, or an Error saying why it cannot be (corrupt, truncated, or larger than `max`). */
export function decodeBody(coding: Coding, body: Uint8Array, max: number): Uint8Array | Error {
  const opts = { maxOutputLength: max };
  try {
    switch (coding) {
      case "identity":
        return body;
      case "gzip":
        return zlib.gunzipSync(body, opts);
      case "deflate":
        // "deflate" is zlib-wrapped (RFC 9110 §8.4.1.2); some servers send it raw.
        try {
          return zlib.inflateSync(body, opts);
        } catch {
          return zlib.inflateRawSync(body, opts);
        }
      case "br":
        return zlib.brotliDecompressSync(body, opts);
      case "zstd":
        return zlib.zstdDecompressSync(body, opts);
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    return new Error(code === "ERR_BUFFER_TOO_LARGE" ? `it decodes to more than ${max} bytes` : (e as Error).message);
  }
}

/** The headers without content-encoding, for a body that was decoded. */
export const withoutCoding = (headers: ReadonlyArray<readonly [string, string]>) => headers.filter(([k]) => k !== "content-encoding");
