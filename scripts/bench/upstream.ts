/**
 * A fast fake Anthropic upstream for the benchmark: one TLS port that negotiates h2 or
 * http/1.1 by ALPN (node:http2 with allowHTTP1), streaming message_start, N text deltas
 * at a set interval and message_stop. Bundled and run under Node.js (the reference HTTP/2
 * server, as for the test fake upstream), in its own process.
 *
 * A plain-HTTP control port answers GET /stats: streams started, completed and aborted
 * (the client side closed the stream before message_stop), and those still open, so the
 * benchmark can prove that a client leaving ccp cancels the upstream attempt.
 *
 * Usage: node upstream.js --cert FILE --key FILE; prints one JSON line {port, controlPort};
 * exits when its stdin closes.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { deltaFrame, headFrames, shapeFrom, tailFrames } from "./workload.ts";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  const v = i === -1 ? undefined : process.argv[i + 1];
  if (!v) throw new Error(`missing ${name}`);
  return v;
};

const stats = { started: 0, completed: 0, aborted: 0, active: 0, h1: 0, h2: 0, bodyBytes: 0, connections: 0, sentBytes: 0 };
const deltaCache = new Map<number, Buffer>();
const deltaBytes = (chars: number) => {
  let b = deltaCache.get(chars);
  if (!b) deltaCache.set(chars, (b = Buffer.from(deltaFrame(chars))));
  return b;
};

type Req = http2.Http2ServerRequest;
type Res = http2.Http2ServerResponse;

function handle(req: Req, res: Res): void {
  if (req.method !== "POST" || !req.url.startsWith("/v1/messages")) {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: "bench upstream: messages only" } }));
    return;
  }
  const shape = shapeFrom(req.headers);
  let model = "bench";
  let received = 0;
  // The body must be read whole (the upload is part of the workload); only the model is looked at.
  // The first chunk may be a few bytes (HTTP/2 flow control): keep the first 512 bytes, whatever the chunking.
  let start = Buffer.alloc(0);
  req.on("data", (c: Buffer) => {
    received += c.byteLength;
    if (start.byteLength < 512) start = Buffer.concat([start, c.subarray(0, 512 - start.byteLength)]);
  });
  req.on("end", () => {
    stats.bodyBytes += received;
    const m = /"model"\s*:\s*"([^"]{1,200})"/.exec(start.toString("latin1"));
    if (m) model = m[1]!;
    stream(req, res, model, shape.deltas, shape.intervalMs, deltaBytes(shape.deltaChars));
  });
}

function stream(req: Req, res: Res, model: string, deltas: number, intervalMs: number, delta: Buffer): void {
  stats.started++;
  stats.active++;
  if (req.httpVersionMajor === 2) stats.h2++;
  else stats.h1++;
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  res.on("close", () => {
    if (timer) clearTimeout(timer);
    if (done) return;
    done = true;
    stats.active--;
    stats.aborted++;
  });
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": "req_bench" });
  res.write(headFrames(model));
  let sent = 0;
  const next = (): void => {
    timer = undefined;
    if (done) return;
    // interval 0: as fast as the reader takes it (the slow-reader scenario), honouring backpressure.
    while (sent < deltas) {
      sent++;
      stats.sentBytes += delta.byteLength;
      const more = res.write(delta);
      if (intervalMs > 0 && sent < deltas) {
        timer = setTimeout(next, intervalMs);
        return;
      }
      if (!more && sent < deltas) {
        res.once("drain", next);
        return;
      }
    }
    done = true;
    stats.active--;
    stats.completed++;
    res.end(tailFrames(deltas));
  };
  // The first delta goes out on its own write, right after the head (the time to first token).
  setImmediate(next);
}

const server = http2.createSecureServer(
  {
    key: readFileSync(arg("--key")),
    cert: readFileSync(arg("--cert")),
    allowHTTP1: true,
    // Real frontends advertise large windows; Node's 64 KiB default would serialise concurrent uploads.
    settings: { initialWindowSize: 4 * 1024 * 1024, maxConcurrentStreams: 1000 },
    // Generous session memory (Node's default is 10 MB): with those windows, many concurrent 1 MB
    // uploads on one session must not be refused by a limit of this fake. (Refusals seen with
    // Bun's http2 client came from how it uploads, not from this: see src/upstream/h2.ts.)
    maxSessionMemory: 4096,
  },
  handle,
);
server.on("session", (s) => s.setLocalWindowSize(64 * 1024 * 1024));
// Small SSE writes must leave at once: with Nagle on, a delta waits for the peer's delayed ACK (40 ms).
server.on("secureConnection", (socket: import("node:tls").TLSSocket) => {
  stats.connections++;
  socket.setNoDelay(true);
});
// Keep-alive connections of a closed-loop load generator must not be cut between requests.
server.setTimeout(0);
(server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 60_000;

const control = http.createServer((req, res) => {
  if (req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" });
    return void res.end(JSON.stringify(stats));
  }
  if (req.url === "/reset" && req.method === "POST") {
    for (const k of ["started", "completed", "aborted", "h1", "h2", "bodyBytes", "connections", "sentBytes"] as const) stats[k] = 0;
    res.writeHead(204);
    return void res.end();
  }
  res.writeHead(404);
  res.end();
});

server.listen(0, "127.0.0.1", () => {
  control.listen(0, "127.0.0.1", () => {
    const port = (server.address() as AddressInfo).port;
    const controlPort = (control.address() as AddressInfo).port;
    process.stdout.write(`${JSON.stringify({ port, controlPort })}\n`);
  });
});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
