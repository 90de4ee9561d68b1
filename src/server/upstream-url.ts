/**
 * The upstream URL for an endpoint: always the lane's origin and base path plus a fixed
 * endpoint path; only the client's query string is carried over, re-encoded. A client can
 * never choose the host or path prefix.
 */
export function upstreamUrl(baseUrl: string, endpoint: "/v1/messages" | "/v1/messages/count_tokens" | "/v1/models", clientSearch: string): URL {
  const base = new URL(baseUrl);
  const url = new URL(base.origin);
  url.pathname = base.pathname.replace(/\/+$/, "") + endpoint;
  const query = new URLSearchParams(clientSearch).toString();
  url.search = query ? `?${query}` : "";
  return url;
}
