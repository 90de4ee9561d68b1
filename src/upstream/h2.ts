import type { Timeouts } from "../config/schema.ts";
import { type BunConn, dialNative } from "./bun-socket.ts";
import { Exchange } from "./exchange.ts";
import { UpstreamFailure } from "./failure.ts";
import { H2_ERROR } from "./h2-frames.ts";
import { H2_QUEUE_BYTES } from "./h2-flow.ts";
import { H2Session } from "./h2-session.ts";
import type { H2Stream } from "./h2-stream.ts";
import type { Transport, UpstreamRequest, UpstreamResponse } from "./transport.ts";
import { UploadBudget } from "./upload-budget.ts";
import { writeBody } from "./upload.ts";

export interface H2Options {
  readonly ca: readonly string[] | undefined;
  /** A session with streams in flight that has received nothing for this long is sent a PING. */
  readonly pingAfterMs?: number;
  /** No PING answer within this long: the session is dead. */
  readonly pingTimeoutMs?: number;
}

/**
 * Request-body bytes uploading at once on a lane's HTTP/2 connection: many large uploads at
 * once are held until earlier ones are handed over, so one connection's socket buffers and a
 * peer's flow-control windows are not flooded (first come, first served).
 */
const UPLOAD_BUDGET_BYTES = 8 * 1024 * 1024;
const NOTHING_HELD = () => {};

/**
 * How HTTP/2 traffic opens a connection: ALPN offers h2 alone, and a peer that does not agree
 * to it is refused with `tls` (an `auto` lane then goes to HTTP/1.1 at once). `ccp ok` checks a lane with it too, so the two cannot disagree.
 */
export async function dialH2(url: Readonly<URL>, timeouts: Timeouts, ca: readonly string[] | undefined): Promise<BunConn> {
  const conn = await dialNative(url, { connectMs: timeouts.connect_ms, tlsMs: timeouts.tls_ms, alpn: ["h2"], ca });
  const alpn = conn.socket?.alpnProtocol;
  if (alpn !== "h2") {
    conn.destroy();
    throw new UpstreamFailure("tls", `upstream ${url.host} did not negotiate HTTP/2 (ALPN: ${alpn || "none"}); use transport = "h1" for this lane`, true);
  }
  return conn;
}

/**
 * HTTP/2 over one shared session per lane (concurrent streams multiplex on it), with ccp's own
 * client (h2-session.ts) on Bun's native sockets. A session that goes quiet while streams wait
 * is PINGed; no answer means it is dead: it is closed, its streams fail with dead_session, and
 * the next request dials anew. A retired session (GOAWAY) finishes its streams; new ones go to
 * a new session.
 */
export class H2Transport implements Transport {
  readonly protocol = "h2" as const;
  readonly #ca: readonly string[] | undefined;
  readonly #pingAfterMs: number;
  readonly #pingTimeoutMs: number;
  #current: H2Session | undefined;
  #connecting: Promise<H2Session> | undefined;
  readonly #watchdog: ReturnType<typeof setInterval>;
  readonly #all = new Set<H2Session>();
  readonly #pinging = new Set<H2Session>();
  readonly #uploads = new UploadBudget(UPLOAD_BUDGET_BYTES);
  readonly #owner = {
    retired: (s: H2Session) => {
      if (this.#current === s) this.#current = undefined;
    },
    closed: (s: H2Session) => {
      this.#all.delete(s);
      if (this.#current === s) this.#current = undefined;
    },
  };

  constructor(o: H2Options) {
    this.#ca = o.ca;
    this.#pingAfterMs = o.pingAfterMs ?? 5_000;
    this.#pingTimeoutMs = o.pingTimeoutMs ?? 3_000;
    this.#watchdog = setInterval(() => this.#checkHealth(), Math.max(250, Math.min(this.#pingAfterMs, 1_000)));
    this.#watchdog.unref();
  }

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const size = req.body?.byteLength ?? 0;
    const release = size > 0 ? await this.#uploads.acquire(size, req.signal) : NOTHING_HELD;
    try {
      return await this.#exchange(await this.#session(req), req, release);
    } catch (e) {
      release();
      throw e;
    }
  }

  close(): void {
    clearInterval(this.#watchdog);
    for (const s of [...this.#all]) s.die(new UpstreamFailure("reset", "ccp is shutting down"), H2_ERROR.NO_ERROR);
    this.#all.clear();
    this.#current = undefined;
  }

  async #session(req: UpstreamRequest): Promise<H2Session> {
    const current = this.#current;
    if (current && !current.retired) return current;
    this.#connecting ??= this.#connect(req).finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(req: UpstreamRequest): Promise<H2Session> {
    // The connection attempt must not die with the first request that asked for it: no signal.
    const conn = await dialH2(req.url, req.timeouts, this.#ca);
    const s = new H2Session(conn, this.#owner);
    this.#all.add(s);
    // The peer's SETTINGS (windows, frame size, stream limit) come before the first request; bounded like the handshake.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      s.die(new UpstreamFailure("tls_timeout", "no HTTP/2 SETTINGS from the peer"));
    }, req.timeouts.tls_ms);
    const ok = await s.settled();
    clearTimeout(timer);
    if (!ok) {
      s.die(new UpstreamFailure("reset", "HTTP/2 session closed before its SETTINGS arrived"));
      throw timedOut
        ? new UpstreamFailure("tls_timeout", `HTTP/2 peer sent no SETTINGS within ${req.timeouts.tls_ms} ms`, true)
        : new UpstreamFailure("reset", "HTTP/2 session closed before its SETTINGS arrived", true);
    }
    this.#current = s;
    return s;
  }

  /** PING sessions that have streams waiting but have gone quiet; no answer in time means dead. */
  #checkHealth(): void {
    const now = performance.now();
    for (const s of this.#all) {
      if (s.activeStreams === 0 || this.#pinging.has(s) || now - s.lastActivity < this.#pingAfterMs) continue;
      this.#pinging.add(s);
      const timer = setTimeout(() => s.die(new UpstreamFailure("dead_session", `HTTP/2 session did not answer PING within ${this.#pingTimeoutMs} ms`)), this.#pingTimeoutMs);
      void s.ping().then(() => {
        clearTimeout(timer);
        this.#pinging.delete(s);
      });
    }
  }

  /** `release` gives the upload budget back: once the body is handed over, or the stream is over. */
  #exchange(s: H2Session, req: UpstreamRequest, release: () => void): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const headers: [string, string][] = [
        [":method", req.method],
        [":scheme", "https"],
        [":authority", req.url.host],
        [":path", req.url.pathname + req.url.search],
      ];
      // Connection-specific fields are illegal in HTTP/2 (RFC 9113 §8.2.2); the caller has removed them.
      for (const [name, value] of req.headers) headers.push([name, value]);
      const body = req.body && req.body.byteLength > 0 ? req.body : undefined;
      if (req.body) headers.push(["content-length", String(req.body.byteLength)]);

      let stream: H2Stream | undefined;
      const ex = new Exchange(
        "h2",
        req,
        {
          queueBytes: H2_QUEUE_BYTES,
          pause: () => stream?.pause(),
          resume: () => stream?.resume(),
          abandon: () => stream?.cancel(),
          cleanup: release,
        },
        resolve,
        reject,
      );
      if (ex.done) return;
      stream = s.request(headers, body !== undefined, {
        // The upload (and its stall clock) starts when the stream opens, not while it waits for a slot.
        open: (st) => {
          if (!body) return;
          void writeBody(st, body, req.timeouts.upload_stall_ms, () => {
            // Only a stall before the answer fails the attempt; after it, the peer simply stopped reading.
            if (ex.phase === "head") ex.fail(new UpstreamFailure("upload_stall", `request body upload made no progress for ${req.timeouts.upload_stall_ms} ms (HTTP/2 flow control)`));
          }).then(release);
        },
        head: (status, list) => ex.head(status, list),
        data: (chunk) => ex.data(chunk),
        end: () => (ex.phase === "head" ? ex.fail(new UpstreamFailure("protocol", "HTTP/2 stream ended without response headers")) : ex.end()),
        fail: (f) => ex.fail(f),
      });
    });
  }
}
