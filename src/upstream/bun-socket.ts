import type { Socket, SocketHandler } from "bun";
import { isIP } from "node:net";
import { abortFailure, UpstreamFailure } from "./failure.ts";
import { type BodySink, SinkWaiters } from "./upload.ts";

export interface DialOptions {
  readonly connectMs: number;
  readonly tlsMs: number;
  /** ALPN protocols to offer, e.g. ["h2"] or ["http/1.1"]. */
  readonly alpn: readonly string[];
  /** Trusted roots, when the lane adds its own CA (undefined: the system's). */
  readonly ca: readonly string[] | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Who currently reads a connection: the exchange using it, or the pool watching it idle. */
export interface ConnListener {
  data(chunk: Uint8Array): void;
  /** The connection is gone (peer FIN, reset, or destroy()); `error` when the socket reported one. */
  close(error: Error | undefined): void;
}

/**
 * One upstream connection on Bun's native sockets (TCP, then TLS): only what HTTP/1.1 needs,
 * with no node stream in between. The benchmark's reason: per request, node:tls sockets cost
 * more CPU and memory than the rest of ccp's work on them.
 */
export class BunConn implements BodySink {
  socket: Socket<BunConn> | undefined;
  listener: ConnListener | undefined;
  destroyed = false;
  /** Set while the connection is being opened: settles the dial. */
  opening: { ready(): void; fail(f: UpstreamFailure): void } | undefined;
  readonly #unsent: Uint8Array[] = [];
  #unsentBytes = 0;
  readonly #waiters = new SinkWaiters();
  /** Called when the pooled connection's socket timer fires (idle too long). */
  onTimeout: (() => void) | undefined;

  constructor(readonly secure: boolean) {}

  /** Bytes handed to write() that the kernel has not taken yet. */
  get writableLength(): number {
    return this.#unsentBytes;
  }

  /** Queues bytes for the peer; false when some wait for the socket to drain. */
  write(bytes: Uint8Array): boolean {
    if (this.destroyed || !this.socket) return false;
    if (this.#unsentBytes === 0) {
      const n = this.socket.write(bytes);
      if (n >= bytes.byteLength) return true;
      bytes = bytes.subarray(Math.max(0, n));
    }
    this.#unsent.push(bytes);
    this.#unsentBytes += bytes.byteLength;
    return false;
  }

  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  /** Closes the connection at once (a reset, not a graceful end: it is never reused). */
  destroy(): void {
    if (this.destroyed) return;
    this.socket?.terminate();
    this.closed(undefined);
  }

  once(event: "drain" | "close", fn: () => void): void {
    this.#waiters.once(event, fn);
  }

  off(event: "drain" | "close", fn: () => void): void {
    this.#waiters.off(event, fn);
  }

  /** The socket can take more: write what waits, then tell the writers. */
  drained(): void {
    while (this.#unsent.length > 0 && this.socket && !this.destroyed) {
      const bytes = this.#unsent[0]!;
      const n = this.socket.write(bytes);
      if (n < bytes.byteLength) {
        this.#unsent[0] = bytes.subarray(Math.max(0, n));
        this.#unsentBytes -= Math.max(0, n);
        return;
      }
      this.#unsent.shift();
      this.#unsentBytes -= bytes.byteLength;
    }
    this.#waiters.drained();
  }

  /** The one way a connection ends, whichever event came first. */
  closed(error: Error | undefined): void {
    const first = !this.destroyed;
    this.destroyed = true;
    this.#unsent.length = 0;
    this.#unsentBytes = 0;
    if (!first) return;
    this.opening?.fail(new UpstreamFailure("connect", `connection closed while opening${error ? `: ${errorCode(error)}` : ""}`, true));
    this.#waiters.closed();
    this.listener?.close(error);
  }
}

const errorCode = (e: Error) => (e as NodeJS.ErrnoException).code ?? e.message;

/** One handler table for every connection: the per-connection state lives on socket.data. */
const HANDLERS: SocketHandler<BunConn> = {
  open(s) {
    s.data.socket = s;
    s.setNoDelay(true);
    if (!s.data.secure) s.data.opening?.ready();
  },
  handshake(s, ok, error) {
    const opening = s.data.opening;
    if (!opening) return;
    if (ok && !error) return opening.ready();
    opening.fail(new UpstreamFailure("tls", `TLS handshake failed: ${error ? errorCode(error) : "not authorized"}`, true));
  },
  data(s, chunk) {
    s.data.listener?.data(chunk);
  },
  drain(s) {
    s.data.drained();
  },
  end(s) {
    // The peer sent FIN: nothing more comes; ccp never half-closes a response it waits for.
    s.terminate();
    s.data.closed(undefined);
  },
  close(s, error) {
    s.data.closed(error);
  },
  error(s, error) {
    s.data.closed(error);
  },
  connectError(s, error) {
    s.data.opening?.fail(new UpstreamFailure("connect", `TCP connect failed: ${errorCode(error)}`, true));
  },
  timeout(s) {
    s.data.onTimeout?.();
  },
};

/** ALPN's wire form: each protocol name prefixed by its length. */
function alpnWire(protocols: readonly string[]): string {
  return protocols.map((p) => String.fromCharCode(p.length) + p).join("");
}

/**
 * Opens a connection in two timed phases, TCP then TLS, each with its own timer, so a stalled
 * handshake is told apart from an unreachable host (the field's "TLS handshake timeout").
 */
export function dialNative(url: URL, o: DialOptions): Promise<BunConn> {
  const secure = url.protocol === "https:";
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port) || (secure ? 443 : 80);
  const conn = new BunConn(secure);
  return new Promise<BunConn>((resolve, reject) => {
    const settle = (f: UpstreamFailure | undefined) => {
      if (!conn.opening) return;
      conn.opening = undefined;
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      if (!f) return resolve(conn);
      conn.destroy();
      reject(f);
    };
    conn.opening = { ready: () => settle(undefined), fail: settle };
    const onAbort = () => settle(abortFailure(o.signal, "the client went away while connecting", true));
    let timer = setTimeout(() => settle(new UpstreamFailure("connect", `TCP connect to ${hostname}:${port} timed out after ${o.connectMs} ms`, true)), o.connectMs);
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (o.signal?.aborted) return onAbort();
    Bun.connect<BunConn>({
      hostname,
      port,
      data: conn,
      socket: HANDLERS,
      ...(secure
        ? {
            tls: {
              // SNI must be a host name, never an IP literal (RFC 6066 §3).
              ...(isIP(hostname) ? {} : { serverName: hostname }),
              ...(o.ca ? { ca: [...o.ca] } : {}),
              ALPNProtocols: alpnWire(o.alpn),
            },
          }
        : {}),
    }).then(
      (s) => {
        conn.socket = s;
        // Settled already: aborted or timed out (close it), or, for TLS, the handshake won the race.
        if (!conn.opening) return void (conn.destroyed && s.terminate());
        if (!secure) return settle(undefined);
        // TCP is up: the handshake gets its own timer.
        clearTimeout(timer);
        timer = setTimeout(() => settle(new UpstreamFailure("tls_timeout", `TLS handshake with ${hostname}:${port} timed out after ${o.tlsMs} ms`, true)), o.tlsMs);
      },
      (e: Error) => settle(new UpstreamFailure("connect", `TCP connect to ${hostname}:${port} failed: ${errorCode(e)}`, true)),
    );
  });
}
