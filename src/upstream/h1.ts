import type { Timeouts } from "../config/schema.ts";
import { type BunConn, dialNative } from "./bun-socket.ts";
import { UpstreamFailure } from "./failure.ts";
import { H1ProtocolError, H1ResponseParser } from "./h1-parser.ts";
import { Exchange } from "./exchange.ts";
import type { Transport, UpstreamRequest, UpstreamResponse } from "./transport.ts";
import { watchDrain, writeBody } from "./upload.ts";

export interface H1Options {
  readonly ca: readonly string[] | undefined;
  /** Keep-alive connections kept per lane. */
  readonly maxIdle?: number;
  /** An idle pooled connection is closed after this long. */
  readonly idleSocketMs?: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Bodies up to this size go out in the same write as the head (one segment, one syscall). */
const COALESCE_BODY_BYTES = 64 * 1024;
const encoder = new TextEncoder();
/** A connection is given back this long before the server's advertised keep-alive timeout. */
const KEEP_ALIVE_MARGIN_MS = 1000;

/** How HTTP/1.1 traffic opens a connection; `ccp ok` checks a lane with it too, so the two cannot disagree. */
export function dialH1(url: Readonly<URL>, timeouts: Timeouts, ca: readonly string[] | undefined, signal?: AbortSignal): Promise<BunConn> {
  return dialNative(url, { connectMs: timeouts.connect_ms, tlsMs: timeouts.tls_ms, alpn: ["http/1.1"], ca, signal });
}

/**
 * HTTP/1.1 over our own sockets (Bun's native ones), so connect, TLS, headers and idle
 * phases each have their own timer and failure class, and the wire protocol is certainly
 * HTTP/1.1.
 */
export class H1Transport implements Transport {
  readonly protocol = "h1" as const;
  readonly #idle: BunConn[] = [];
  readonly #maxIdle: number;
  readonly #idleSocketMs: number;
  readonly #ca: readonly string[] | undefined;
  #closed = false;

  constructor(o: H1Options) {
    this.#ca = o.ca;
    // As many kept-alive connections as a busy lane has streams: a smaller pool turns every
    // burst into fresh TLS handshakes (the benchmark saw 5x more at 200 concurrent streams).
    this.#maxIdle = o.maxIdle ?? 256;
    this.#idleSocketMs = o.idleSocketMs ?? 30_000;
  }

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    // A pooled connection the peer has closed is dropped from the pool when its FIN arrives;
    // one closed in the instant before reuse fails as `reset` and the attempt loop decides.
    const pooled = this.#takeIdle();
    const socket = pooled ?? (await dialH1(req.url, req.timeouts, this.#ca, req.signal));
    return this.#exchange(socket, req, pooled !== undefined);
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#idle.splice(0)) s.destroy();
  }

  #takeIdle(): BunConn | undefined {
    for (let c = this.#idle.pop(); c; c = this.#idle.pop()) {
      c.listener = undefined;
      c.onTimeout = undefined;
      c.socket?.timeout(0);
      if (!c.destroyed) return c;
    }
    return undefined;
  }

  /**
   * Pools a connection whose exchange is complete. A server that says how long it keeps an idle
   * connection (`Keep-Alive: timeout=N`, e.g. Node's 5 s) gets it back a second sooner than
   * that, so a request never goes out on a connection the server is closing at that instant
   * (which would fail as `reset` and cost a retry).
   */
  #release(conn: BunConn, serverKeepsMs?: number): void {
    const ours = Math.max(1, Math.round(this.#idleSocketMs / 1000));
    const idleS = serverKeepsMs === undefined ? ours : Math.min(ours, Math.floor((serverKeepsMs - KEEP_ALIVE_MARGIN_MS) / 1000));
    if (this.#closed || this.#idle.length >= this.#maxIdle || conn.destroyed || idleS < 1) return void conn.destroy();
    const drop = () => {
      conn.destroy();
      const i = this.#idle.indexOf(conn);
      if (i !== -1) this.#idle.splice(i, 1);
    };
    // An idle connection must be silent: any byte, FIN or error drops it.
    conn.listener = { data: drop, close: drop };
    conn.onTimeout = drop;
    conn.resume(); // a response that filled the body queue in its last chunk left it paused
    conn.socket?.timeout(idleS);
    this.#idle.push(conn);
  }

  #exchange(socket: BunConn, req: UpstreamRequest, reused: boolean): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const parser = new H1ResponseParser(req.method);
      let receivedBytes = false;
      // A connection goes back to the pool only once the whole request is on the wire.
      let bodyWritten = true;
      const ex = new Exchange(
        "h1",
        req,
        {
          pause: () => socket.pause(),
          resume: () => socket.resume(),
          abandon: () => socket.destroy(),
          cleanup: () => {
            if (socket.listener?.data === onData) socket.listener = undefined;
          },
        },
        resolve,
        reject,
      );
      const finish = () => {
        ex.end();
        const reusable = bodyWritten && !parser.connectionClose && !parser.closeDelimited && socket.writableLength === 0;
        if (reusable) this.#release(socket, parser.keepAliveMs);
        else socket.destroy();
      };
      // Declarations, not consts: the exchange may clean up (an already-aborted signal) before they are reached.
      function onData(chunk: Uint8Array): void {
        receivedBytes = true;
        let events: ReturnType<typeof parser.push>;
        try {
          events = parser.push(chunk);
        } catch (e) {
          return ex.fail(new UpstreamFailure("protocol", `malformed HTTP/1.1 response: ${(e as Error).message}`));
        }
        for (const ev of events) {
          if (ev.type === "head") ex.head(ev.status, ev.headers);
          else if (ev.type === "body") ex.data(ev.chunk);
          else if (!ex.done) finish();
        }
      }
      function onClose(error: Error | undefined): void {
        if (ex.done) return;
        if (error) return ex.fail(new UpstreamFailure("reset", `connection error: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
        try {
          if (parser.finish().length > 0) return finish();
        } catch (e) {
          if (reused && !receivedBytes) return ex.fail(new UpstreamFailure("reset", "kept-alive connection was closed by the peer before any response"));
          return ex.fail(new UpstreamFailure("reset", e instanceof H1ProtocolError ? e.message : "connection closed"));
        }
      }
      if (ex.done) return;
      socket.listener = { data: onData, close: onClose };

      const head = encoder.encode(requestHead(req));
      const body = req.body && req.body.byteLength > 0 ? req.body : undefined;
      if (!body) return void socket.write(head);
      if (body.byteLength <= COALESCE_BODY_BYTES) {
        const both = new Uint8Array(head.byteLength + body.byteLength);
        both.set(head, 0);
        both.set(body, head.byteLength);
        if (!socket.write(both)) watchUpload(watchDrain(socket, req.timeouts.upload_stall_ms, onStall));
        return;
      }
      socket.write(head);
      watchUpload(writeBody(socket, body, req.timeouts.upload_stall_ms, onStall));

      function onStall(): void {
        if (ex.phase === "head") ex.fail(new UpstreamFailure("upload_stall", `request body upload made no progress for ${req.timeouts.upload_stall_ms} ms`));
      }
      /** A connection goes back to the pool only once the whole request is on the wire. */
      function watchUpload(upload: Promise<boolean>): void {
        bodyWritten = false;
        void upload.then((complete) => (bodyWritten = complete));
      }
    });
  }
}

function requestHead(req: UpstreamRequest): string {
  const target = req.url.pathname + req.url.search;
  let head = `${req.method} ${target} HTTP/1.1\r\nhost: ${req.url.host}\r\n`;
  for (const [name, value] of req.headers) {
    // Names are tokens and values have no CR/LF (RFC 9110 §5.1, §5.5): anything else is dropped, never sent.
    if (TOKEN.test(name) && !/[\r\n\0]/.test(value)) head += `${name}: ${value}\r\n`;
  }
  const length = req.body?.byteLength ?? 0;
  if (length > 0 || req.method === "POST" || req.method === "PUT") head += `content-length: ${length}\r\n`;
  return `${head}\r\n`;
}
