import { isIP } from "node:net";

/**
 * Web pages must not use ccp (SECURITY.md). A browser relays any page's requests to loopback
 * services, so a page on another site can POST to ccp (no-cors fetch, sendBeacon, a form), and
 * with DNS rebinding a page on attacker.example can even read ccp's answers, because the browser
 * then takes ccp for attacker.example itself. The defence is the one local dev servers use
 * (their allowedHosts check), plus refusing what browsers mark as coming from another site:
 * - without a proxy key, the Host must be one ccp answers for: a loopback address (rebinding
 *   needs a name), localhost and *.localhost (RFC 6761: browsers resolve them to loopback
 *   themselves), the listen host, or a name the operator allowed. Not 0.0.0.0, nor an
 *   IPv4-mapped address: they reach ccp too, but browsers do not count them as trustworthy and
 *   send no Sec-Fetch-* headers to them, so a page's GETs could not be told from a client's;
 * - a request carrying an Origin must come from ccp's own pages (same host and port) or an
 *   origin the operator allowed; Claude Code and the SDKs send no Origin;
 * - a request marked Sec-Fetch-Site cross-site or same-site is refused unless its Origin was
 *   allowed (a page on localhost:3000 is same-site to ccp on localhost:8082: ports do not count).
 */
export interface BrowserPolicy {
  /** Host names allowed besides loopback addresses, localhost and *.localhost (the listen host first): exact, or ".example.com" for it and its subdomains. */
  readonly hosts: readonly string[];
  /**
   * A proxy key is set: any Host is answered, since every endpoint that says anything needs the
   * key, which no page can present (browsers attach cookies and HTTP auth, never x-ccp-key or a
   * Bearer token of their own accord). A team reaches a shared ccp by whatever name it has.
   */
  readonly anyHost: boolean;
  /** Origins (scheme://host[:port]) whose pages may call ccp. */
  readonly origins: readonly string[];
}

/**
 * A forwarded GET (`/v1/models`) must carry a header no page can add without the browser
 * asking ccp first (CORS preflight): Anthropic's clients send `anthropic-version` and their
 * credentials. POSTs need `content-type: application/json`, which is such a header already.
 */
export function simpleRequestProblem(method: string, headers: Headers): string | undefined {
  if (method !== "GET" && method !== "HEAD") return undefined;
  if (headers.has("anthropic-version") || headers.has("x-api-key") || headers.has("authorization")) return undefined;
  return "ccp forwards a GET only with anthropic-version or credentials (x-api-key, authorization), which Anthropic's clients send and a web page cannot";
}

/** The policy from the listen host, the operator's allowed_hosts / allowed_origins and whether a proxy key guards ccp. */
export function browserPolicy(c: {
  readonly host: string;
  readonly allowed_hosts: readonly string[];
  readonly allowed_origins: readonly string[];
  readonly access: { readonly key_set: boolean };
}): BrowserPolicy {
  return { hosts: [c.host, ...c.allowed_hosts].map(normalHost), anyHost: c.access.key_set, origins: c.allowed_origins };
}

/** 127.0.0.0/8 and ::1, as URL writes them (no IPv4-mapped forms: see above). */
const isLoopbackIp = (h: string) => (isIP(h) === 4 && h.startsWith("127.")) || h === "::1";

const normalHost = (h: string) =>
  h
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");

/** Whether ccp answers for this host name (no port; IPv6 with or without brackets). */
export function hostAllowed(hostname: string, policy: BrowserPolicy): boolean {
  const h = normalHost(hostname);
  if (policy.anyHost || isLoopbackIp(h) || h === "localhost" || h.endsWith(".localhost")) return true;
  return policy.hosts.some((allowed) => (allowed.startsWith(".") ? h === allowed.slice(1) || h.endsWith(allowed) : h === allowed));
}

/** Why this request is refused as coming from a web page ccp does not serve, or undefined. */
export function browserProblem(url: URL, headers: Headers, policy: BrowserPolicy): string | undefined {
  if (!hostAllowed(url.hostname, policy)) {
    return (
      `Host ${JSON.stringify(url.host.slice(0, 100))} is not one ccp answers for (loopback addresses, localhost and allowed_hosts): a ` +
      `web page on another site may be trying to reach ccp (DNS rebinding). If you reach ccp by this name, add it to allowed_hosts in the config`
    );
  }
  const origin = headers.get("origin");
  if (origin !== null && policy.origins.includes(origin)) return undefined;
  if (origin !== null && !sameHost(origin, url)) {
    return (
      `requests from web pages are refused (Origin ${JSON.stringify(origin.slice(0, 100))}): a page on another site may be trying to use ` +
      `ccp. To let a page of yours call ccp, add its origin to allowed_origins in the config`
    );
  }
  const site = headers.get("sec-fetch-site");
  if (site === "cross-site" || site === "same-site") {
    return `requests from web pages on other sites are refused (Sec-Fetch-Site: ${site}). To let a page of yours call ccp, add its origin to allowed_origins in the config`;
  }
  return undefined;
}

/** The page that sent this Origin was served by this ccp: same host and port (the scheme may differ behind a TLS proxy). */
function sameHost(origin: string, url: URL): boolean {
  if (!URL.canParse(origin)) return false;
  return new URL(origin).host === url.host;
}
