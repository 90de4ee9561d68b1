import type { Lane } from "../config/config.ts";

/**
 * Connection-specific fields are never forwarded (RFC 9110 §7.6.1), nor are the
 * proxy-* fields meant for this hop. host and content-length are set by the transport,
 * accept-encoding is pinned so the SSE guard can read the stream.
 */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "http2-settings"]);
const MANAGED = new Set(["host", "content-length", "accept-encoding", "expect"]);
const CREDENTIALS = new Set(["x-api-key", "authorization"]);
/** x-ccp-* headers are addressed to ccp itself (the proxy key, x-ccp-key, among them): never forwarded. */
const CCP_PREFIX = "x-ccp-";
/**
 * Headers by which a client could claim another origin or URL to a gateway upstream (RFC 7239
 * and the de-facto x-forwarded-* family, IIS/nginx URL overrides): ccp is the client there.
 */
const ROUTING_CLAIMS = new Set(["forwarded", "x-real-ip", "x-original-url", "x-rewrite-url", "x-http-method-override"]);

function connectionTokens(headers: Headers): Set<string> {
  return new Set(
    (headers.get("connection") ?? "")
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** The headers an attempt sends upstream: the client's, filtered, with the lane's credentials. */
export function upstreamHeaders(client: Headers, lane: Pick<Lane, "auth" | "header" | "key">): [string, string][] {
  const named = connectionTokens(client);
  const out: [string, string][] = [];
  client.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || MANAGED.has(name) || named.has(name) || name.startsWith(":") || name.startsWith(CCP_PREFIX)) return;
    if (ROUTING_CLAIMS.has(name) || name.startsWith("x-forwarded-")) return;
    if (lane.auth === "key" && CREDENTIALS.has(name)) return;
    out.push([name, value]);
  });
  if (lane.auth === "key" && lane.key !== undefined) {
    out.push(lane.header === "authorization" ? ["authorization", `Bearer ${lane.key}`] : ["x-api-key", lane.key]);
  }
  out.push(["accept-encoding", "identity"]);
  return out;
}

/**
 * The upstream's response headers as the client gets them. Framing is the server's business
 * (content-length; a body ccp decoded has lost its content-encoding already). CORS grants are the upstream's
 * for its own origin: passed on from ccp's, an `access-control-allow-origin: *` would let any
 * web page read ccp's answers, so none is. Values may echo the credential the upstream was
 * sent (a cookie, a challenge, an id): `hide` replaces known secrets in them.
 */
export function downstreamHeaders(upstream: ReadonlyArray<readonly [string, string]>, secrets?: { text(value: string): string; inName(name: string): boolean }): Headers {
  const out = new Headers();
  for (const [name, value] of upstream) {
    if (HOP_BY_HOP.has(name) || name === "content-length" || name.startsWith(":") || name.startsWith("access-control-")) continue;
    // A name or value no HTTP message may carry (Headers would throw) is dropped, as is a name that quotes a secret.
    if (!TOKEN.test(name) || FORBIDDEN_IN_VALUE.test(value) || secrets?.inName(name)) continue;
    out.append(name, secrets ? secrets.text(value) : value);
  }
  return out;
}

/** RFC 9110 §5.1 field names; §5.5 values never hold NUL, CR or LF. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FORBIDDEN_IN_VALUE = /[\0\r\n]/;

/** The credential style an attempt used, for the usage record (never the credential itself). */
export function headerMode(client: Headers, lane: Pick<Lane, "auth" | "header">): string {
  if (lane.auth === "key") return lane.header;
  if (client.has("x-api-key")) return "x-api-key";
  if (client.has("authorization")) return "authorization";
  return "none";
}
