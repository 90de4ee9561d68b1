/**
 * The upstream URL for an endpoint: always the lane's origin and base path plus a fixed
 * endpoint path; only the client's query string is carried over, re-encoded. A client can
 * never choose the host or path prefix.
 */
/** The forwarded endpoints (the only paths an upstream is ever sent). */
export type Endpoint = "/v1/messages" | "/v1/messages/count_tokens" | "/v1/models";

/** Built URLs, reused: a lane sees the same few (Claude Code always sends `?beta=true`). Bounded against hostile query strings. */
const cache = new Map<string, Readonly<URL>>();
const MAX_CACHED = 256;

/** upstreamUrl(), built once per lane, endpoint and query string. The URL is shared: never mutate it. */
export function cachedUpstreamUrl(baseUrl: string, endpoint: Endpoint, clientSearch: string): Readonly<URL> {
  const key = `${baseUrl}\n${endpoint}\n${clientSearch}`;
  let url = cache.get(key);
  if (!url) {
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, (url = upstreamUrl(baseUrl, endpoint, clientSearch)));
  }
  return url;
}

export function upstreamUrl(baseUrl: string, endpoint: Endpoint, clientSearch: string): URL {
  const base = new URL(baseUrl);
  const url = new URL(base.origin);
  url.pathname = base.pathname.replace(/\/+$/, "") + endpoint;
  const query = new URLSearchParams(clientSearch).toString();
  url.search = query ? `?${query}` : "";
  return url;
}
