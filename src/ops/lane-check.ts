import type { Lane } from "../config/config.ts";
import { upstreamHeaders } from "../upstream/forward-headers.ts";
import { dial, trustedRoots } from "../upstream/dial.ts";
import { httpRequest } from "./local-http.ts";

export interface Check {
  /** What was checked, e.g. "lane zai: tls". */
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

const ALPN: Record<string, readonly string[]> = { h1: ["http/1.1"], h2: ["h2"], auto: ["h2", "http/1.1"] };

/** TCP + TLS to the lane's host with its own timeouts, CA and ALPN; reports the protocol agreed. */
export async function checkConnect(lane: Lane): Promise<Check> {
  const name = `lane ${lane.name}: connect`;
  const url = new URL(lane.base_url);
  const t0 = performance.now();
  try {
    const socket = await dial(url, {
      connectMs: lane.timeouts.connect_ms,
      tlsMs: lane.timeouts.tls_ms,
      alpn: ALPN[lane.transport] ?? ["http/1.1"],
      ca: trustedRoots(lane.ca_file),
    });
    const alpn = "alpnProtocol" in socket ? (socket as { alpnProtocol?: string | false }).alpnProtocol : undefined;
    socket.destroy();
    const ms = Math.round(performance.now() - t0);
    const what = url.protocol === "https:" ? `TLS to ${url.host} in ${ms} ms${alpn ? ` (ALPN ${alpn})` : ""}` : `TCP to ${url.host} in ${ms} ms`;
    if (lane.transport === "h2" && url.protocol === "https:" && alpn !== "h2") return { name, pass: false, detail: `${what}: the server did not agree to HTTP/2; set transport = "h1"` };
    return { name, pass: true, detail: what };
  } catch (e) {
    return { name, pass: false, detail: (e as Error).message };
  }
}

/**
 * A cheap request: GET <base>/v1/models with the lane's own key (passthrough lanes send
 * none, so 401 is the expected answer there). Anything below 500 proves the lane answers.
 */
export async function checkRequest(lane: Lane, timeoutMs = 10_000): Promise<Check> {
  const name = `lane ${lane.name}: request`;
  const url = `${lane.base_url.replace(/\/+$/, "")}/v1/models`;
  const headers = Object.fromEntries(upstreamHeaders(new Headers({ "anthropic-version": "2023-06-01" }), lane));
  const t0 = performance.now();
  try {
    const res = await httpRequest(url, { headers, timeoutMs, ca: trustedRoots(lane.ca_file) });
    const ms = Math.round(performance.now() - t0);
    const answered = `GET /v1/models answered ${res.status} in ${ms} ms`;
    if (res.status >= 500) return { name, pass: false, detail: `${answered}: the upstream is failing` };
    if (lane.auth === "key" && (res.status === 401 || res.status === 403)) return { name, pass: false, detail: `${answered}: the lane's key (${lane.key_env}) was rejected` };
    const note = lane.auth === "passthrough" && res.status === 401 ? " (no client credentials sent: expected)" : "";
    return { name, pass: true, detail: answered + note };
  } catch (e) {
    return { name, pass: false, detail: `GET ${url}: ${(e as Error).message}` };
  }
}

/** Lanes with auth = "key" need their variable set where the proxy runs. */
/** `proxyRunning`: whether `present` is the running proxy's answer or this shell's environment's. */
export function checkCredentials(lane: Pick<Lane, "name" | "auth" | "key_env">, present: boolean, proxyRunning: boolean): Check {
  const name = `lane ${lane.name}: credentials`;
  if (lane.auth !== "key") return { name, pass: true, detail: "the client's own credentials are passed through" };
  if (present) return { name, pass: true, detail: `lane key from ${lane.key_env} is set` };
  return proxyRunning
    ? { name, pass: false, detail: `${lane.key_env} is not set where the proxy runs; export it and ccp restart` }
    : { name, pass: false, detail: `${lane.key_env} is not set in this environment; export it before ccp start` };
}
