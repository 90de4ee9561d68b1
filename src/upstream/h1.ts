import type net from "node:net";
import { dial } from "./dial.ts";
import { UpstreamFailure } from "./failure.ts";
import { H1ProtocolError, H1ResponseParser } from "./h1-parser.ts";
import { BodyQueue } from "./body-queue.ts";
import type { Transport, UpstreamRequest, UpstreamResponse } from "./transport.ts";
import { writeBody } from "./upload.ts";

export interface H1Options {
  readonly ca: readonly string[] | undefined;
  /** Keep-alive connections kept per lane. */
  readonly maxIdle?: number;
  /** An idle pooled connection is closed after this long. */
  readonly idleSocketMs?: number;
}

/** Bytes of response body buffered per stream before the upstream socket is paused. */
const BODY_HIGH_WATER = 256 * 1024;
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
      let phase: "head" | "body" | "done" = "head";
      let queue: BodyQueue | undefined;
      let paused = false;
      let receivedBytes = false;
      // A connection goes back to the pool only once the whole request is on the wire.
      let bodyWritten = true;
      let idleTimer: ReturnType<typeof setTimeout> | undefined;

      const cleanup = () => {
        clearTimeout(headersTimer);
        clearTimeout(idleTimer);
        req.signal.removeEventListener("abort", onAbort);
        socket.off("data", onData);
        socket.off("close", onClose);
        socket.off("error", onError);
      };
      const fail = (f: UpstreamFailure) => {
        if (phase === "done") return;
        const wasHead = phase === "head";
        phase = "done";
        cleanup();
        socket.destroy();
        if (wasHead) reject(f);
        else queue?.fail(f);
      };
      const armIdle = () => {
        if (paused || phase !== "body") return;
        if (idleTimer) idleTimer.refresh();
        else idleTimer = setTimeout(() => fail(new UpstreamFailure("idle_timeout", `no response bytes for ${req.timeouts.idle_ms} ms`)), req.timeouts.idle_ms);
      };
      const finish = () => {
        phase = "done";
        cleanup();
        queue?.end();
        const reusable = bodyWritten && !parser.connectionClose && !parser.closeDelimited && socket.writableLength === 0;
        if (reusable) this.#release(socket);
        else socket.destroy();
      };
      const onData = (chunk: Uint8Array) => {
        receivedBytes = true;
        let events;
        try {
          events = parser.push(chunk);
        } catch (e) {
          return fail(new UpstreamFailure("protocol", `malformed HTTP/1.1 response: ${(e as Error).message}`));
        }
        for (const ev of events) {
          if (ev.type === "head") {
            clearTimeout(headersTimer);
            phase = "body";
            queue = new BodyQueue(BODY_HIGH_WATER, {
              resume: () => {
                if (!paused || phase !== "body") return;
                paused = false;
                socket.resume();
                armIdle();
              },
              cancel: () => {
                if (phase === "done") return;
                phase = "done";
                cleanup();
                socket.destroy();
              },
            });
            resolve({ protocol: "h1", status: ev.status, headers: ev.headers, body: queue });
            armIdle();
          } else if (ev.type === "body") {
            if (phase !== "body" || !queue) return;
            if (!queue.push(ev.chunk)) {
              paused = true;
              socket.pause();
              clearTimeout(idleTimer);
              idleTimer = undefined;
            } else armIdle();
          } else if (phase !== "done") finish();
        }
      };
      const onClose = () => {
        if (phase === "done") return;
        try {
          if (parser.finish().length > 0) return finish();
        } catch (e) {
          if (reused && !receivedBytes) return fail(new UpstreamFailure("reset", "kept-alive connection was closed by the peer before any response"));
          const what = e instanceof H1ProtocolError ? e.message : "connection closed";
          return fail(new UpstreamFailure("reset", what));
        }
      };
      const onError = (e: NodeJS.ErrnoException) => {
        fail(new UpstreamFailure("reset", `connection error: ${e.code ?? e.message}`));
      };
      const onAbort = () => fail(new UpstreamFailure("client_abort", "the attempt was aborted"));

      socket.on("data", onData);
      socket.on("close", onClose);
      socket.on("error", onError);
      req.signal.addEventListener("abort", onAbort, { once: true });
      const headersTimer = setTimeout(
        () => fail(new UpstreamFailure("headers_timeout", `no response headers within ${req.timeouts.headers_ms} ms`)),
        req.timeouts.headers_ms,
      );
      if (req.signal.aborted) return onAbort();

      socket.write(requestHead(req));
      if (req.body && req.body.byteLength > 0) {
        bodyWritten = false;
        void writeBody(socket, req.body, req.timeouts.upload_stall_ms, () => {
          if (phase === "head") fail(new UpstreamFailure("upload_stall", `request body upload made no progress for ${req.timeouts.upload_stall_ms} ms`));
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
