// Fault-injecting fake Anthropic upstream. Runs under Node.js (node: modules only,
// no Bun APIs) so that the reference HTTP/2 + HTTP/1.1 implementation is independent
// from the Bun client under test. Compiled by index.ts with
// `bun build server.ts --target node` and started as a child process.
//
// Data plane: one TLS port, ALPN h2 + http/1.1 (node:http2 createSecureServer allowHTTP1).
// Blackhole:  one TCP port that accepts connections and never answers (TLS stall).
// Control:    plain HTTP on 127.0.0.1 (POST /script, GET /requests[?model=M], POST /reset,
//             POST /headers, POST /quota, POST /signatures, POST /limits, GET /limits).
// Also on the TLS port: GET <prefix>/api/monitor/usage/quota/limit, Z.ai's quota endpoint (quota.ts).
// Ready line: one JSON line on stdout {"port","controlPort","blackholePort","caFile"}.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { TLSSocket } from "node:tls";
import zlib from "node:zlib";

import {
  type Behaviour,
  type Match,
  MODELS_LIST,
  type QuotaAnswer,
  type ReadyLine,
  type RecordedRequest,
  errorEnvelope,
  normalFrames,
  normalMessage,
  richFrames,
  richMessage,
  sseFrame,
  withCredential,
} from "./protocol.ts";
import { type LimitsBody, admit, limitStats, setLimits } from "./limits.ts";
import { QUOTA_PATH, answerQuota, resetQuota, setQuota } from "./quota.ts";
import { type Endpoint, addScript, clearScripts, listScripts, pick, putBack } from "./scripts.ts";
import { isVerifying, realmOf, richOptions, setVerifying } from "./signatures.ts";
import { addStickyHeaders, clearSticky, setSticky, stickyFor } from "./sticky-headers.ts";
import { thinkingRefusal } from "./thinking-check.ts";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
/** The common subset of http.ServerResponse and http2.Http2ServerResponse used here. */
interface Res {
  readonly headersSent: boolean;
  readonly destroyed?: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string | Uint8Array, cb?: (err?: Error | null) => void): boolean;
  end(chunk?: string | Uint8Array): unknown;
  once(event: "close", fn: () => void): unknown;
  on(event: "error", fn: (err: Error) => void): unknown;
  destroy(): void;
}
const BEHAVIOUR_KINDS = new Set(["normal", "rich", "status", "sse", "stall_headers", "stall_mid_stream", "reset", "goaway", "stall_upload", "end_without_stop", "raw", "rst_stream"]);

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

// ---------------------------------------------------------------- state

let records: RecordedRequest[] = [];
let counter = 0;
/** Requests that are deliberately left hanging; destroyed on reset/close. */
const stalled = new Set<() => void>();
const tlsSockets = new Map<string, TLSSocket>();
const sessions = new Set<http2.ServerHttp2Session>();
const blackholeSockets = new Set<net.Socket>();

// ---------------------------------------------------------------- cert

const dir = mkdtempSync(path.join(os.tmpdir(), "ccp-fake-upstream-"));
const keyFile = path.join(dir, "key.pem");
const caFile = path.join(dir, "cert.pem");
execFileSync(
  "openssl",
  ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", keyFile, "-out", caFile],
  { stdio: ["ignore", "ignore", "pipe"] },
);

// ---------------------------------------------------------------- helpers

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}

function socketKey(s: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${s.remoteAddress ?? "?"}:${s.remotePort ?? "?"}`;
}

function isH2(req: Req): req is http2.Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

function flatHeaders(req: Req): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

function jsonBody(res: Res, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const buf = Buffer.from(text);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(buf.length),
    ...extra,
  });
  res.end(buf);
}

/** Hard-kill the connection carrying this request (TCP close without TLS close_notify / GOAWAY). */
function killConnection(req: Req): void {
  if (isH2(req)) {
    const session = req.stream.session;
    const sock = session ? tlsSockets.get(socketKey(session.socket)) : undefined;
    if (sock) sock.destroy();
    else session?.destroy();
  } else {
    req.socket.destroy();
  }
}

function stall(req: Req): void {
  let fn: () => void;
  const remove = (): void => {
    stalled.delete(fn);
  };
  fn = (): void => {
    remove();
    if (isH2(req)) {
      if (!req.stream.destroyed) req.stream.close(NGHTTP2_CANCEL);
    } else {
      req.socket.destroy();
    }
  };
  stalled.add(fn);
  // (IncomingMessage "close" fires once the body is consumed, not on disconnect.)
  if (isH2(req)) req.stream.once("close", remove);
  else req.socket.once("close", remove);
}

// ---------------------------------------------------------------- data plane

/** Read a request's body (counted and kept in the record); its JSON object, if it is one. */
async function readBody(req: Req, record: RecordedRequest): Promise<{ complete: boolean; obj: Record<string, unknown> | undefined }> {
  const chunks: Buffer[] = [];
  const complete = await new Promise<boolean>((resolve) => {
    req.on("data", (c: Buffer) => {
      record.bodyBytes += c.length;
      chunks.push(c);
    });
    req.once("end", () => resolve(true));
    req.once("error", () => resolve(false));
    req.once("close", () => resolve(req.readableEnded));
  });
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.length <= 512 * 1024) record.body = text;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { complete, obj: body !== null && typeof body === "object" ? (body as Record<string, unknown>) : undefined };
}

/**
 * While signatures are verified, a messages request Anthropic would refuse is refused before
 * anything else: its scripted behaviour goes back to its script, limits do not count it.
 */
function refuseThinking(res: Res, record: RecordedRequest, behaviour: Behaviour, obj: unknown, realm: string, requestId: string): boolean {
  const refusal = isVerifying() ? thinkingRefusal(obj, realm) : undefined;
  if (!refusal) return false;
  putBack(behaviour);
  record.behaviour = refusal.behaviour;
  const error = { type: "error", error: { type: "invalid_request_error", message: refusal.message }, request_id: requestId };
  jsonBody(res, 400, error, { "request-id": requestId });
  return true;
}

async function handle(req: Req, res: Res): Promise<void> {
  const at = Date.now();
  const n = ++counter;
  const requestId = `req_fake_${String(n).padStart(6, "0")}`;
  const url = req.url ?? "/";
  const pathname = url.split("?")[0] ?? "/";
  const method = req.method ?? "GET";
  const record: RecordedRequest = {
    protocol: isH2(req) ? "h2" : "http/1.1",
    connection: socketKey(isH2(req) ? (req.stream.session?.socket ?? {}) : req.socket),
    method,
    path: url,
    headers: flatHeaders(req),
    bodyBytes: 0,
    behaviour: "pending",
    at,
  };
  records.push(record);

  if (method === "HEAD") {
    record.behaviour = "head";
    res.writeHead(200, { "request-id": requestId });
    res.end();
    return;
  }
  if (method === "GET" && /\/v1\/models\/?$/.test(pathname)) {
    record.behaviour = "models";
    req.resume();
    jsonBody(res, 200, MODELS_LIST, { "request-id": requestId });
    return;
  }
  if (method === "GET" && QUOTA_PATH.test(pathname)) {
    await answerQuota(req, res, record);
    return;
  }
  let endpoint: Endpoint;
  if (method === "POST" && /\/v1\/messages\/count_tokens\/?$/.test(pathname)) endpoint = "count_tokens";
  else if (method === "POST" && /\/v1\/messages\/?$/.test(pathname)) endpoint = "messages";
  else {
    record.behaviour = "not_found";
    req.resume();
    jsonBody(res, 404, errorEnvelope(404, requestId), { "request-id": requestId });
    return;
  }
  addStickyHeaders(res, () => stickyFor(pathname, endpoint, record.model, record.protocol));

  // Decide early (in arrival order) when no model is needed, so stall_upload can
  // avoid reading the body at all.
  let behaviour: Behaviour | "need_model" = pick(pathname, endpoint, undefined, false, record.protocol);
  if (behaviour !== "need_model" && behaviour.kind === "stall_upload") {
    record.behaviour = "stall_upload";
    stall(req);
    return; // never read the body, never answer
  }

  const { complete, obj } = await readBody(req, record);
  if (typeof obj?.model === "string") record.model = obj.model;
  if (typeof obj?.stream === "boolean") record.stream = obj.stream;
  if (behaviour === "need_model") behaviour = pick(pathname, endpoint, record.model, true, record.protocol);
  if (behaviour === "need_model") behaviour = { kind: "normal" }; // unreachable
  if (!complete) return; // client went away mid-upload
  if (endpoint === "messages" && refuseThinking(res, record, behaviour, obj, realmOf(pathname), requestId)) return;
  if (endpoint === "messages" && behaviour.kind === "normal") behaviour = admit(res, behaviour);
  record.behaviour = behaviour.kind;

  await act(req, res, behaviour, {
    n,
    requestId,
    endpoint,
    model: record.model ?? "claude-sonnet-4-5-20250929",
    stream: record.stream === true && endpoint === "messages",
    validBody: obj !== undefined,
    realm: realmOf(pathname),
  });
}

interface Ctx {
  n: number;
  requestId: string;
  endpoint: Endpoint;
  model: string;
  stream: boolean;
  validBody: boolean;
  /** the request path before "/v1/", whose signatures a rich answer carries (signatures.ts) */
  realm: string;
}

type RawBehaviour = Extract<Behaviour, { kind: "raw" }>;

/** The raw behaviour: any head and body, written as told, then ended as told (protocol.ts, RawEnd). */
async function raw(req: Req, res: Res, b: RawBehaviour, rid: Record<string, string>): Promise<void> {
  const credential = String(req.headers["x-api-key"] ?? /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ""))?.[1] ?? "");
  const headers: Record<string, string | string[]> = { ...rid };
  for (const [name, value] of b.headers ?? []) {
    const v = withCredential(value, credential);
    const had = headers[name];
    headers[name] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  let pieces: (string | Buffer)[] = b.pieces.map((p) => withCredential(p, credential));
  if (b.gzip) {
    pieces = [zlib.gzipSync(Buffer.from(pieces.join("")))];
    headers["content-encoding"] = "gzip";
  }
  const then = b.then ?? "end";
  // HTTP/1.1 has no GOAWAY: its graceful "no more requests on this connection" is Connection: close.
  if (then === "end_goaway" && !isH2(req)) headers.connection = "close";
  let closed = false;
  res.once("close", () => {
    closed = true;
  });
  const gone = (): boolean => closed || res.destroyed === true;
  if (b.headersDelayMs) {
    await sleep(b.headersDelayMs);
    if (gone()) return;
  }
  res.writeHead(b.status ?? 200, headers as Record<string, string>);
  // The head goes out before a first wait, or before a cut or a silence with nothing written
  // (HTTP/1.1 would otherwise hold it for the first piece that never comes).
  if (b.waits || b.headersDelayMs || then !== "end") (res as { flushHeaders?: () => void }).flushHeaders?.();
  let flushed: Promise<void> = Promise.resolve();
  const write = (chunk: string | Buffer): void => {
    flushed = new Promise<void>((resolve) => {
      res.write(chunk, () => resolve());
    });
  };
  for (const [i, piece] of pieces.entries()) {
    const wait = b.waits?.[i] ?? b.delayMs ?? 0;
    if (wait) await sleep(wait);
    if (gone()) return;
    if (!b.chunkBytes) {
      write(piece);
      continue;
    }
    const bytes = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    for (let at = 0; at < bytes.length; at += b.chunkBytes) {
      write(bytes.subarray(at, at + b.chunkBytes));
      // One socket write (h1 chunk, h2 DATA frame) per chunk: let each leave before the next.
      await sleep(0);
      if (gone()) return;
    }
  }
  if (then === "stall") {
    stall(req);
    return;
  }
  if (then === "end" || then === "end_goaway") {
    res.end();
    if (then === "end_goaway" && isH2(req)) closeSessionAfter(req);
    return;
  }
  // A cut: what was written reaches the client first, as for the reset behaviour.
  await Promise.race([flushed, sleep(500)]);
  await sleep(20);
  if (gone()) return;
  if (then === "rst_stream" && isH2(req)) req.stream.close(b.code ?? NGHTTP2_INTERNAL_ERROR);
  else if (then === "goaway" && isH2(req)) await goawayAndDestroy(req, req.stream.id ?? 0);
  else killConnection(req);
}

/** GOAWAY(NO_ERROR, last) on the request's session, then the session destroyed once the frame has left. */
async function goawayAndDestroy(req: http2.Http2ServerRequest, last: number): Promise<void> {
  const session = req.stream.session;
  if (!session) return;
  try {
    session.goaway(NGHTTP2_NO_ERROR, last);
  } catch {
    /* session already closing */
  }
  await sleep(50); // let the GOAWAY frame flush
  if (!session.destroyed) session.destroy();
}

/** GOAWAY(NO_ERROR, this stream) and a graceful close: streams under way finish, no new ones. */
function closeSessionAfter(req: http2.Http2ServerRequest): void {
  const session = req.stream.session;
  if (!session) return;
  try {
    session.goaway(NGHTTP2_NO_ERROR, req.stream.id ?? 0);
    session.close();
  } catch {
    /* already closing */
  }
  const t = setTimeout(() => {
    if (!session.destroyed) session.destroy();
  }, 2_000);
  session.once("close", () => clearTimeout(t));
}

async function act(req: Req, res: Res, b: Behaviour, ctx: Ctx): Promise<void> {
  const rid = { "request-id": ctx.requestId };
  switch (b.kind) {
    case "status": {
      const body = b.body !== undefined ? b.body : errorEnvelope(b.status, ctx.requestId);
      jsonBody(res, b.status, body, { ...rid, ...(b.headers ?? {}) });
      return;
    }
    case "sse": {
      res.writeHead(b.status ?? 200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...rid });
      res.end(b.frames);
      return;
    }
    case "raw":
      await raw(req, res, b, rid);
      return;
    case "rst_stream":
      if (isH2(req)) req.stream.close(b.code ?? NGHTTP2_INTERNAL_ERROR);
      else killConnection(req);
      return;
    case "stall_headers":
    case "stall_upload": // reached only when a model match forced reading the body first
      stall(req);
      return;
    default:
      break;
  }
  if (!ctx.validBody && b.kind === "normal") {
    jsonBody(res, 400, errorEnvelope(400, ctx.requestId), rid);
    return;
  }

  // Build the content: SSE frames for streaming messages, else a JSON body split in 2 units.
  const id = `msg_fake_${String(ctx.n).padStart(6, "0")}`;
  const text = b.kind === "normal" && b.text !== undefined ? b.text : "ok";
  let units: string[];
  let sse: boolean;
  if (ctx.endpoint === "count_tokens") {
    sse = false;
    units = [JSON.stringify({ input_tokens: 42 })];
  } else if (ctx.stream) {
    sse = true;
    units = b.kind === "rich" ? richFrames(ctx.model, richOptions(ctx.realm, b.redacted === true)) : normalFrames({ id, model: ctx.model, text, withStop: b.kind !== "end_without_stop" });
  } else {
    sse = false;
    units = [JSON.stringify(b.kind === "rich" ? richMessage(ctx.model, richOptions(ctx.realm, b.redacted === true)) : normalMessage({ id, model: ctx.model, text }))];
  }
  const fault = b.kind === "stall_mid_stream" || b.kind === "reset" || b.kind === "goaway" ? b.kind : undefined;
  let faultAt: number | undefined;
  if (b.kind === "stall_mid_stream") faultAt = b.afterEvents ?? 1;
  if (b.kind === "reset" || b.kind === "goaway") faultAt = b.afterEvents;
  if (!sse && (fault !== undefined || b.kind === "end_without_stop")) {
    // Non-streaming: split the JSON body in two halves so a fault can land in the middle.
    const whole = units[0] ?? "";
    const half = Math.floor(whole.length / 2);
    units = b.kind === "end_without_stop" ? [whole.slice(0, half)] : [whole.slice(0, half), whole.slice(half)];
  }

  let closed = false;
  res.once("close", () => {
    closed = true;
  });
  const gone = (): boolean => closed || res.destroyed === true;

  // Resolved when the last written unit has been handed to the connection.
  let flushed: Promise<void> = Promise.resolve();
  const doFault = async (headersSent: boolean): Promise<void> => {
    if (headersSent) {
      // Make sure the events written so far actually reach the client first.
      await Promise.race([flushed, sleep(500)]);
      await sleep(20);
    }
    if (fault === "stall_mid_stream") {
      stall(req);
      return;
    }
    if (fault === "goaway" && isH2(req)) {
      const id = req.stream.id ?? 0;
      // Node sends a GOAWAY whose last-stream-id would be 0 with its last processed stream
      // instead (this one): a session's first stream is refused with RST_STREAM REFUSED_STREAM.
      if (!headersSent && id <= 1) req.stream.close(NGHTTP2_REFUSED_STREAM);
      await goawayAndDestroy(req, headersSent ? id : Math.max(0, id - 2));
      return;
    }
    killConnection(req); // reset, or goaway on HTTP/1.1
  };

  if (faultAt === undefined && fault !== undefined && fault !== "stall_mid_stream") {
    await doFault(false);
    return;
  }

  const headers: Record<string, string> = sse ? { "content-type": "text/event-stream", "cache-control": "no-cache", ...rid } : { "content-type": "application/json", ...rid };
  if (!sse && fault === undefined && b.kind !== "end_without_stop") {
    headers["content-length"] = String(Buffer.byteLength(units.join("")));
  }
  res.writeHead(200, headers);
  (res as { flushHeaders?: () => void }).flushHeaders?.();

  if (b.kind === "normal" && sse) {
    const pings = Math.max(0, b.pingsBeforeFirst ?? 0);
    const firstDelay = Math.max(0, b.firstEventDelayMs ?? 0);
    const step = firstDelay / (pings + 1);
    for (let i = 0; i < pings; i++) {
      await sleep(step);
      if (gone()) return;
      res.write(sseFrame("ping", { type: "ping" }));
    }
    if (firstDelay > 0) await sleep(step);
  }
  const delayMs = b.kind === "normal" ? Math.max(0, b.delayMs ?? 0) : 0;
  for (let i = 0; i < units.length; i++) {
    if (gone()) return;
    if (faultAt !== undefined && i === faultAt) {
      await doFault(true);
      return;
    }
    const pause = b.kind === "normal" && b.pauseAfterEvents === i ? Math.max(0, b.pauseMs ?? 0) : 0;
    if (i > 0 || pause > 0) {
      await sleep(delayMs + pause);
      if (gone()) return;
    }
    flushed = new Promise<void>((resolve) => {
      res.write(units[i] ?? "", () => resolve());
    });
  }
  if (gone()) return;
  if (faultAt !== undefined && faultAt >= units.length) {
    if (fault === "goaway" && isH2(req)) {
      // Graceful variant: complete this response, then GOAWAY and close the session
      // once its streams are done.
      res.end();
      closeSessionAfter(req);
      return;
    }
    await sleep(0);
    await doFault(true);
    return;
  }
  res.end();
}

const server = http2.createSecureServer({
  key: readFileSync(keyFile),
  cert: readFileSync(caFile),
  allowHTTP1: true,
  settings: { initialWindowSize: 65535 },
});
// Registered before the internal HTTP/2 connection listener, so the map is filled
// before the "session" event fires.
server.prependListener("secureConnection", (sock: TLSSocket) => {
  const key = socketKey(sock);
  tlsSockets.set(key, sock);
  sock.setNoDelay(true);
  sock.once("close", () => {
    if (tlsSockets.get(key) === sock) tlsSockets.delete(key);
  });
  sock.on("error", () => {});
});
server.on("session", (session: http2.ServerHttp2Session) => {
  sessions.add(session);
  session.once("close", () => sessions.delete(session));
  session.on("error", () => {});
  // A large connection-level window: a stalled (unread) stream then pins at most
  // its own 64 KiB stream window, never the whole connection.
  try {
    session.setLocalWindowSize(16 * 1024 * 1024);
  } catch {
    /* not fatal */
  }
});
server.on("request", (req: Req, res: http.ServerResponse | http2.Http2ServerResponse) => {
  req.on("error", () => {});
  res.on("error", () => {});
  if (isH2(req)) req.stream.on("error", () => {});
  handle(req, res).catch((err: unknown) => {
    process.stderr.write(`fake-upstream: handler error: ${String(err)}\n`);
    try {
      if (!res.headersSent) jsonBody(res, 500, { type: "error", error: { type: "api_error", message: String(err) } });
      else res.destroy();
    } catch {
      /* ignore */
    }
  });
});
server.on("sessionError", () => {});
server.on("tlsClientError", () => {});
server.on("clientError", () => {});

// ---------------------------------------------------------------- blackhole

const blackhole = net.createServer((sock) => {
  blackholeSockets.add(sock);
  sock.on("error", () => {});
  sock.once("close", () => blackholeSockets.delete(sock));
  sock.resume(); // swallow the ClientHello, never answer
});

// ---------------------------------------------------------------- control plane

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const t = Buffer.concat(chunks).toString("utf8");
      try {
        resolve(t.length ? JSON.parse(t) : {});
      } catch (e) {
        reject(e);
      }
    });
    req.on("error", reject);
  });
}

function resetState(): void {
  clearScripts();
  clearSticky();
  resetQuota();
  setVerifying(false);
  records = [];
  setLimits({});
  for (const fn of [...stalled]) {
    try {
      fn();
    } catch {
      /* ignore */
    }
  }
  stalled.clear();
}

const control = http.createServer((req, res) => {
  const send = (status: number, body: unknown): void => {
    const t = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(t)) });
    res.end(t);
  };
  (async () => {
    if (req.method === "POST" && req.url === "/script") {
      const body = (await readJson(req)) as { behaviours?: unknown; match?: unknown };
      if (!Array.isArray(body.behaviours)) return send(400, { error: "behaviours must be an array" });
      for (const b of body.behaviours) {
        const kind = (b as { kind?: unknown } | null)?.kind;
        if (typeof kind !== "string" || !BEHAVIOUR_KINDS.has(kind)) {
          return send(400, { error: `unknown behaviour ${JSON.stringify(b)}` });
        }
      }
      const match = (body.match ?? {}) as Match;
      addScript(match, body.behaviours as Behaviour[]);
      return send(200, { ok: true });
    }
    if (req.method === "POST" && req.url === "/headers") {
      const body = (await readJson(req)) as { headers?: unknown; match?: unknown };
      if (body.headers === null || typeof body.headers !== "object" || Array.isArray(body.headers)) return send(400, { error: "headers must be an object" });
      setSticky(body.headers as Record<string, string>, (body.match ?? {}) as Match);
      return send(200, { ok: true });
    }
    if (req.method === "POST" && req.url === "/quota") {
      setQuota((await readJson(req)) as QuotaAnswer);
      return send(200, { ok: true });
    }
    if (req.method === "POST" && req.url === "/signatures") {
      setVerifying(((await readJson(req)) as { on?: unknown }).on === true);
      return send(200, { ok: true });
    }
    if (req.method === "GET" && req.url === "/requests") return send(200, records);
    if (req.method === "GET" && req.url?.startsWith("/requests?model=")) {
      const model = decodeURIComponent(req.url.slice("/requests?model=".length));
      return send(
        200,
        records.filter((r) => r.model === model),
      );
    }
    if (req.method === "POST" && req.url === "/reset") {
      req.resume();
      resetState();
      return send(200, { ok: true });
    }
    if (req.method === "GET" && req.url === "/scripts") return send(200, listScripts());
    if (req.method === "POST" && req.url === "/limits") {
      setLimits((await readJson(req)) as LimitsBody);
      return send(200, { ok: true });
    }
    if (req.method === "GET" && req.url === "/limits") return send(200, limitStats());
    req.resume();
    return send(404, { error: "not found" });
  })().catch((err: unknown) => send(500, { error: String(err) }));
});

// ---------------------------------------------------------------- lifecycle

let shuttingDown = false;
function shutdown(code = 0): void {
  if (shuttingDown) return;
  shuttingDown = true;
  try {
    resetState();
    for (const s of sessions) s.destroy();
    for (const s of tlsSockets.values()) s.destroy();
    for (const s of blackholeSockets) s.destroy();
    server.close();
    blackhole.close();
    control.close();
  } catch {
    /* ignore */
  }
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* ignore */
  }
  process.exit(code);
}

process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));
process.on("uncaughtException", (err) => {
  process.stderr.write(`fake-upstream: uncaught: ${err.stack ?? String(err)}\n`);
});
// The parent holds our stdin open; when it goes away (even SIGKILLed), exit.
process.stdin.on("end", () => shutdown(0));
process.stdin.on("close", () => shutdown(0));
process.stdin.on("error", () => shutdown(0));
process.stdin.resume();

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      if (addr && typeof addr === "object") resolve(addr.port);
      else reject(new Error("no address"));
    });
  });
}

const [port, controlPort, blackholePort] = await Promise.all([listen(server), listen(control), listen(blackhole)]);
const ready: ReadyLine = { port, controlPort, blackholePort, caFile };
process.stdout.write(`${JSON.stringify(ready)}\n`);
