import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { abortFailure, UpstreamFailure } from "./failure.ts";

export interface DialOptions {
  readonly connectMs: number;
  readonly tlsMs: number;
  /** ALPN protocols to offer, e.g. ["h2"] or ["http/1.1"]. */
  readonly alpn: readonly string[];
  /** Trusted roots, when the lane adds its own CA (undefined: the system's). */
  readonly ca: readonly string[] | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The system roots plus a lane's extra CA file (an explicit `ca` replaces the defaults in node:tls). */
export function trustedRoots(caFile: string | undefined): readonly string[] | undefined {
  if (!caFile) return undefined;
  return [...tls.rootCertificates, readFileSync(caFile, "utf8")];
}

/**
 * One TLS context per trusted-roots list: building it parses every root certificate, which
 * per connection cost more CPU and memory than the rest of a request (the benchmark's finding).
 */
const contexts = new WeakMap<readonly string[], tls.SecureContext>();
function secureContextFor(ca: readonly string[]): tls.SecureContext {
  let ctx = contexts.get(ca);
  if (!ctx) contexts.set(ca, (ctx = tls.createSecureContext({ ca: [...ca] })));
  return ctx;
}

/**
 * Opens a connection in two timed phases, TCP then TLS, so a stalled handshake is
 * told apart from an unreachable host (the field's "TLS handshake timeout").
 */
export function dial(url: URL, o: DialOptions): Promise<net.Socket> {
  const secure = url.protocol === "https:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port) || (secure ? 443 : 80);
  return new Promise((resolve, reject) => {
    let socket: net.Socket = net.connect({ host, port });
    let settled = false;
    const fail = (f: UpstreamFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(f);
    };
    const onAbort = () => fail(abortFailure(o.signal, "the client went away while connecting", true));
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (o.signal?.aborted) return onAbort();
    let timer = setTimeout(() => fail(new UpstreamFailure("connect", `TCP connect to ${host}:${port} timed out after ${o.connectMs} ms`, true)), o.connectMs);
    socket.once("error", (e: NodeJS.ErrnoException) => fail(new UpstreamFailure("connect", `TCP connect to ${host}:${port} failed: ${e.code ?? e.message}`, true)));
    socket.once("connect", () => {
      socket.setNoDelay(true);
      if (!secure) {
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
        socket.removeAllListeners("error");
        return resolve(socket);
      }
      clearTimeout(timer);
      timer = setTimeout(() => fail(new UpstreamFailure("tls_timeout", `TLS handshake with ${host}:${port} timed out after ${o.tlsMs} ms`, true)), o.tlsMs);
      const tcp = socket;
      tcp.removeAllListeners("error");
      tcp.on("error", () => {});
      const secured = tls.connect({
        socket: tcp,
        // SNI must be a host name, never an IP literal (RFC 6066 §3).
        servername: net.isIP(host) ? undefined : host,
        ALPNProtocols: [...o.alpn],
        secureContext: o.ca ? secureContextFor(o.ca) : undefined,
      });
      socket = secured;
      secured.once("error", (e: NodeJS.ErrnoException) => fail(new UpstreamFailure("tls", `TLS handshake with ${host}:${port} failed: ${e.code ?? e.message}`, true)));
      secured.once("secureConnect", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
        secured.removeAllListeners("error");
        resolve(secured);
      });
    });
  });
}
