import type { Lane } from "../config/config.ts";
import { LaneRuntime } from "../resilience/lane-runtime.ts";
import { isUpstreamFailure } from "../upstream/failure.ts";
import { upstreamHeaders } from "../upstream/forward-headers.ts";
import { upstreamUrl } from "../upstream/upstream-url.ts";

export interface Check {
  /** What was checked, e.g. "lane zai: tls". */
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

/**
 * The lane as its traffic meets it: a runtime of its own (the lane's CA, transports and
 * ALPN), on Bun's native sockets like every request. A lane ccp cannot reach fails here
 * exactly when, and as, its requests would.
 */
async function withLane<T>(lane: Lane, check: (runtime: LaneRuntime) => Promise<T>): Promise<T> {
  const runtime = new LaneRuntime(lane, { protocol: lane.transport === "h1" ? "h1" : "h2", queueDepth: 0, limit: Number.POSITIVE_INFINITY });
  try {
    return await check(runtime);
  } finally {
    runtime.close();
  }
}

/** A failure said as a request's error says it: `tls: TLS handshake failed: ...`. */
const describe = (e: unknown): string => (isUpstreamFailure(e) ? `${e.failureClass}: ${e.message}` : ((e as Error)?.message ?? String(e)));

/**
 * TCP + TLS to the lane's host, opened as the lane's next request would open it (an h2 or
 * auto lane offers ALPN h2 alone and refuses a peer that does not agree); reports the
 * protocol agreed.
 */
export async function checkConnect(lane: Lane): Promise<Check> {
  const name = `lane ${lane.name}: connect`;
  const url = new URL(lane.base_url);
  try {
    return await withLane(lane, async (runtime) => {
      const t0 = performance.now();
      const conn = await runtime.connect(t0);
      const alpn = conn.socket?.alpnProtocol;
      conn.destroy();
      const ms = Math.round(performance.now() - t0);
      const detail = url.protocol === "https:" ? `TLS to ${url.host} in ${ms} ms${alpn ? ` (ALPN ${alpn})` : ""}` : `TCP to ${url.host} in ${ms} ms`;
      return { name, pass: true, detail };
    });
  } catch (e) {
    return { name, pass: false, detail: describe(e) };
  }
}

/**
 * A cheap request through the lane's own transport: GET <base>/v1/models with the lane's own
 * key (passthrough lanes send none, so 401 is the expected answer there). Anything below 500
 * proves the lane answers.
 */
export async function checkRequest(lane: Lane, timeoutMs = 10_000): Promise<Check> {
  const name = `lane ${lane.name}: request`;
  const url = upstreamUrl(lane.base_url, "/v1/models", "");
  const headers = upstreamHeaders(new Headers({ "anthropic-version": "2023-06-01" }), lane);
  try {
    return await withLane(lane, async (runtime) => {
      const t0 = performance.now();
      const transport = runtime.transport(t0);
      // No answer within timeoutMs fails as headers_timeout; connect and TLS keep the lane's own limits.
      const timeouts = { ...lane.timeouts, headers_ms: Math.min(lane.timeouts.headers_ms, timeoutMs) };
      const res = await transport.send({ url, method: "GET", headers, body: undefined, signal: new AbortController().signal, timeouts });
      await res.body.cancel();
      const ms = Math.round(performance.now() - t0);
      const answered = `GET /v1/models answered ${res.status} in ${ms} ms (${res.protocol})`;
      if (res.status >= 500) return { name, pass: false, detail: `${answered}: the upstream is failing` };
      if (lane.auth === "key" && (res.status === 401 || res.status === 403)) return { name, pass: false, detail: `${answered}: the lane's key (${lane.key_env}) was rejected` };
      const note = lane.auth === "passthrough" && res.status === 401 ? " (no client credentials sent: expected)" : "";
      return { name, pass: true, detail: answered + note };
    });
  } catch (e) {
    return { name, pass: false, detail: `GET ${url.href}: ${describe(e)}` };
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
