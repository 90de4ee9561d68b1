import http2 from "node:http2";
import type net from "node:net";
import { dial } from "./dial.ts";
import { UpstreamFailure } from "./failure.ts";
import { Exchange } from "./exchange.ts";
import type { Transport, UpstreamRequest, UpstreamResponse } from "./transport.ts";
import { writeBody } from "./upload.ts";
import { UploadBudget } from "./upload-budget.ts";

export interface H2Options {
  readonly ca: readonly string[] | undefined;
  /** A session with streams in flight that has received nothing for this long is sent a PING. */
  readonly pingAfterMs?: number;
  /** No PING answer within this long: the session is dead. */
  readonly pingTimeoutMs?: number;
}

const { NGHTTP2_CANCEL } = http2.constants;

/**
 * Request-body bytes uploading at once on a lane's HTTP/2 connection. Given many large uploads
 * at once, Bun 1.4.5's client gets its streams refused by a Node.js peer (RST_STREAM
 * ENHANCE_YOUR_CALM and INTERNAL_ERROR, then the whole session), where Node's own client gets
 * none: 50 concurrent 1 MB uploads, 20 rounds, 26 of 1000 answered; with later uploads held
 * until 8 MB of earlier ones were handed over, 1000 of 1000. Further streams wait their turn.
 */
const UPLOAD_BUDGET_BYTES = 8 * 1024 * 1024;
const NOTHING_HELD = () => {};

/** A session and what we know of its health. */
interface Session {
  readonly session: http2.ClientHttp2Session;
  /** Streams in flight: each fails with this session's death reason. */
  readonly streams: Set<(f: UpstreamFailure) => void>;
  lastActivity: number;
  /** Set once the peer sent GOAWAY or we found it dead: no new streams go here. */
  retired: boolean;
  pingInFlight: boolean;
}

/**
 * HTTP/2 over one shared session per lane (concurrent streams multiplex on it).
 * A session that goes quiet while streams wait is PINGed; no answer means it is dead:
 * it is destroyed, its streams fail with dead_session, and the next request dials anew.
 */
export class H2Transport implements Transport {
  readonly protocol = "h2" as const;
  readonly #ca: readonly string[] | undefined;
  readonly #pingAfterMs: number;
  readonly #pingTimeoutMs: number;
  #current: Session | undefined;
  #connecting: Promise<Session> | undefined;
  readonly #watchdog: ReturnType<typeof setInterval>;
  readonly #all = new Set<Session>();
  readonly #uploads = new UploadBudget(UPLOAD_BUDGET_BYTES);

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
      return this.#exchange(await this.#session(req), req, release);
    } catch (e) {
      release();
      throw e;
    }
  }

  close(): void {
    clearInterval(this.#watchdog);
    for (const s of this.#all) s.session.destroy();
    this.#all.clear();
    this.#current = undefined;
  }

  async #session(req: UpstreamRequest): Promise<Session> {
    const current = this.#current;
    if (current && !current.retired && !current.session.destroyed && !current.session.closed) return current;
    this.#connecting ??= this.#connect(req).finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(req: UpstreamRequest): Promise<Session> {
    // The connection attempt must not die with the first request that asked for it.
    const socket = await dial(req.url, { connectMs: req.timeouts.connect_ms, tlsMs: req.timeouts.tls_ms, alpn: ["h2"], ca: this.#ca });
    const alpn = (socket as net.Socket & { alpnProtocol?: string | false }).alpnProtocol;
    if (alpn !== "h2") {
      socket.destroy();
      throw new UpstreamFailure("protocol", `upstream ${req.url.host} did not negotiate HTTP/2 (ALPN: ${alpn || "none"}); use transport = "h1" for this lane`, true);
    }
    const session = http2.connect(req.url.origin, { createConnection: () => socket });
    const s: Session = { session, streams: new Set(), lastActivity: performance.now(), retired: false, pingInFlight: false };
    this.#all.add(s);
    const gone = (f: UpstreamFailure) => this.#retire(s, f);
    session.on("goaway", () => {
      // In-flight streams below the peer's last stream id may still complete; only new ones must go elsewhere.
      s.retired = true;
    });
    session.on("error", (e: Error) => gone(new UpstreamFailure("reset", `HTTP/2 session error: ${e.message}`)));
    session.on("close", () => gone(new UpstreamFailure("reset", "HTTP/2 session closed")));
    session.on("frameError", () => (s.lastActivity = performance.now()));
    // Bun 1.4.5 overruns a small peer stream window if a body is written before the peer's
    // SETTINGS arrive (FLOW_CONTROL_ERROR); wait for them, bounded like the handshake.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#retire(s, new UpstreamFailure("tls_timeout", "no HTTP/2 SETTINGS from the peer"));
        reject(new UpstreamFailure("tls_timeout", `HTTP/2 peer sent no SETTINGS within ${req.timeouts.tls_ms} ms`, true));
      }, req.timeouts.tls_ms);
      session.once("remoteSettings", () => {
        clearTimeout(timer);
        resolve();
      });
      session.once("close", () => {
        clearTimeout(timer);
        reject(new UpstreamFailure("reset", "HTTP/2 session closed before its SETTINGS arrived", true));
      });
    });
    this.#current = s;
    return s;
  }

  #retire(s: Session, f: UpstreamFailure): void {
    s.retired = true;
    this.#all.delete(s);
    if (this.#current === s) this.#current = undefined;
    for (const fail of [...s.streams]) fail(f);
    s.streams.clear();
    if (!s.session.destroyed) s.session.destroy();
  }

  /** PING sessions that have streams waiting but have gone quiet; no answer in time means dead. */
  #checkHealth(): void {
    const now = performance.now();
    for (const s of this.#all) {
      if (s.streams.size === 0 || s.pingInFlight || now - s.lastActivity < this.#pingAfterMs) continue;
      s.pingInFlight = true;
      const timer = setTimeout(() => this.#retire(s, new UpstreamFailure("dead_session", `HTTP/2 session did not answer PING within ${this.#pingTimeoutMs} ms`)), this.#pingTimeoutMs);
      try {
        s.session.ping((err) => {
          clearTimeout(timer);
          s.pingInFlight = false;
          if (err) return this.#retire(s, new UpstreamFailure("dead_session", `HTTP/2 PING failed: ${err.message}`));
          s.lastActivity = performance.now();
        });
      } catch (e) {
        clearTimeout(timer);
        this.#retire(s, new UpstreamFailure("dead_session", `HTTP/2 PING could not be sent: ${(e as Error).message}`));
      }
    }
  }

  /** `release` gives the upload budget back: once the body is handed over, or the stream is over. */
  #exchange(s: Session, req: UpstreamRequest, release: () => void): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const headers: http2.OutgoingHttpHeaders = {
        ":method": req.method,
        ":path": req.url.pathname + req.url.search,
        ":scheme": "https",
        ":authority": req.url.host,
      };
      for (const [name, value] of req.headers) {
        // Connection-specific fields are illegal in HTTP/2 (RFC 9113 §8.2.2); the caller has removed them.
        const prev = headers[name];
        headers[name] = prev === undefined ? value : `${String(prev)}, ${value}`;
      }
      if (req.body) headers["content-length"] = String(req.body.byteLength);

      let stream: http2.ClientHttp2Stream;
      try {
        stream = s.session.request(headers, { endStream: !req.body || req.body.byteLength === 0 });
      } catch (e) {
        this.#retire(s, new UpstreamFailure("reset", `HTTP/2 session unusable: ${(e as Error).message}`));
        release();
        return reject(new UpstreamFailure("dead_session", `HTTP/2 session unusable: ${(e as Error).message}`, true));
      }
      const touch = () => (s.lastActivity = performance.now());
      const ex = new Exchange(
        "h2",
        req,
        {
          pause: () => stream.pause(),
          resume: () => stream.resume(),
          abandon: () => {
            if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
          },
          cleanup: () => {
            s.streams.delete(fail);
            release();
          },
        },
        resolve,
        reject,
      );
      // The session fails its streams through this when it dies (dead_session, reset).
      function fail(f: UpstreamFailure): void {
        ex.fail(f);
      }
      if (ex.done) return;
      s.streams.add(fail);

      stream.on("response", (h) => {
        touch();
        const status = Number(h[":status"]);
        if (status >= 100 && status < 200) return;
        const list: [string, string][] = [];
        for (const [k, v] of Object.entries(h)) {
          if (k.startsWith(":") || v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) list.push([k, String(one)]);
        }
        ex.head(status, list);
      });
      stream.on("data", (chunk: Uint8Array) => {
        touch();
        ex.data(chunk);
      });
      // Bun's client may emit "end" for a stream cut by a dying connection, so the verdict waits
      // for "close": a clean end is END_STREAM with no RST_STREAM code and a live session.
      let ended = false;
      stream.on("end", () => {
        touch();
        ended = true;
      });
      stream.on("error", (e: Error & { code?: string }) => {
        const rst = stream.rstCode ? ` (RST_STREAM code ${stream.rstCode})` : "";
        ex.fail(new UpstreamFailure("reset", `HTTP/2 stream error${rst}: ${e.code ? `${e.code} ` : ""}${e.message}`));
      });
      stream.on("close", () => {
        if (ex.done) return;
        const code = stream.rstCode ?? 0;
        // Let a dying session's own events land first: they decide what a cut stream was.
        setImmediate(() => {
          if (ex.done) return;
          const sessionAlive = !s.session.destroyed && !s.session.closed && s.session.socket?.destroyed !== true;
          if (ended && code === http2.constants.NGHTTP2_NO_ERROR && sessionAlive) {
            if (ex.phase === "head") return ex.fail(new UpstreamFailure("protocol", "HTTP/2 stream ended without response headers"));
            return ex.end();
          }
          const refused = code === http2.constants.NGHTTP2_REFUSED_STREAM;
          ex.fail(new UpstreamFailure(refused ? "goaway" : "reset", `HTTP/2 stream closed${code ? ` (RST_STREAM code ${code})` : ""} before the response ended`, refused));
        });
      });
      if (req.body && req.body.byteLength > 0) {
        const body = req.body;
        void writeBody(stream, body, req.timeouts.upload_stall_ms, () => {
          // Only a stall before the answer fails the attempt; after it, the peer simply stopped reading.
          if (ex.phase === "head") ex.fail(new UpstreamFailure("upload_stall", `request body upload made no progress for ${req.timeouts.upload_stall_ms} ms (HTTP/2 flow control)`));
        }).then((complete) => {
          release();
          if (complete && !stream.destroyed) stream.end();
        });
      }
    });
  }
}
