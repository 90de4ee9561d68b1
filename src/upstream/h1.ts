import type net from "node:net";
import { dial } from "./dial.ts";
import { UpstreamFailure } from "./failure.ts";
import { H1ProtocolError, H1ResponseParser } from "./h1-parser.ts";
import { Exchange } from "./exchange.ts";
import type { Transport, UpstreamRequest, UpstreamResponse } from "./transport.ts";
import { writeBody } from "./upload.ts";

export interface H1Options {
  readonly ca: readonly string[] | undefined;
  /** Keep-alive connections kept per lane. */
  readonly maxIdle?: number;
  /** An idle pooled connection is closed after this long. */
  readonly idleSocketMs?: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * HTTP/1.1 over our own sockets, so connect, TLS, headers and idle phases each have
 * their own timer and failure class, and the wire protocol is certainly HTTP/1.1.
 */
export class H1Transport implements Transport {
  readonly protocol = "h1" as const;
  readonly #idle: net.Socket[] = [];
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
    const socket = pooled ?? (await dial(req.url, { connectMs: req.timeouts.connect_ms, tlsMs: req.timeouts.tls_ms, alpn: ["http/1.1"], ca: this.#ca, signal: req.signal }));
    return this.#exchange(socket, req, pooled !== undefined);
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#idle.splice(0)) s.destroy();
  }

  #takeIdle(): net.Socket | undefined {
    for (let s = this.#idle.pop(); s; s = this.#idle.pop()) {
      s.removeAllListeners();
      s.setTimeout(0);
      if (!s.destroyed && s.readable && s.writable) return s;
      s.destroy();
    }
    return undefined;
  }

  #release(socket: net.Socket): void {
    if (this.#closed || this.#idle.length >= this.#maxIdle || socket.destroyed) return void socket.destroy();
    socket.removeAllListeners();
    const drop = () => {
      socket.destroy();
      const i = this.#idle.indexOf(socket);
      if (i !== -1) this.#idle.splice(i, 1);
    };
    socket.on("data", drop); // an idle connection must be silent
    socket.on("close", drop);
    socket.on("error", drop);
    socket.on("end", drop);
    socket.setTimeout(this.#idleSocketMs, drop);
    this.#idle.push(socket);
  }

  #exchange(socket: net.Socket, req: UpstreamRequest, reused: boolean): Promise<UpstreamResponse> {
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
            socket.off("data", onData);
            socket.off("close", onClose);
            socket.off("error", onError);
          },
        },
        resolve,
        reject,
      );
      const finish = () => {
        ex.end();
        const reusable = bodyWritten && !parser.connectionClose && !parser.closeDelimited && socket.writableLength === 0;
        if (reusable) this.#release(socket);
        else socket.destroy();
      };
      // Declarations, not consts: the exchange may clean up (an already-aborted signal) before they are reached.
      function onData(chunk: Uint8Array): void {
        receivedBytes = true;
        let events;
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
      function onClose(): void {
        if (ex.done) return;
        try {
          if (parser.finish().length > 0) return finish();
        } catch (e) {
          if (reused && !receivedBytes) return ex.fail(new UpstreamFailure("reset", "kept-alive connection was closed by the peer before any response"));
          return ex.fail(new UpstreamFailure("reset", e instanceof H1ProtocolError ? e.message : "connection closed"));
        }
      }
      function onError(e: NodeJS.ErrnoException): void {
        ex.fail(new UpstreamFailure("reset", `connection error: ${e.code ?? e.message}`));
      }
      if (ex.done) return;
      socket.on("data", onData);
      socket.on("close", onClose);
      socket.on("error", onError);

      socket.write(requestHead(req));
      if (req.body && req.body.byteLength > 0) {
        bodyWritten = false;
        void writeBody(socket, req.body, req.timeouts.upload_stall_ms, () => {
          if (ex.phase === "head") ex.fail(new UpstreamFailure("upload_stall", `request body upload made no progress for ${req.timeouts.upload_stall_ms} ms`));
        }).then((complete) => (bodyWritten = complete));
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
  return head + "\r\n";
}
