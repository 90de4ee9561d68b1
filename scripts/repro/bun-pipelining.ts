/**
 * What Bun.serve does with HTTP/1.1 requests pipelined on one connection (SECURITY.md, "does not
 * protect against"). Run: `bun scripts/repro/bun-pipelining.ts` (about 15 s). Each case starts a
 * bare Bun.serve, writes two requests on one raw TCP connection and prints what came back: the
 * status lines, whether each answer's body arrived, when the server closed the connection, and
 * whether the first request's signal was aborted. The last case is node:http under the same Bun.
 *
 * What it shows with Bun 1.4.5: a request whose head Bun parses while the answer ahead of it is
 * not complete (the handler's promise has not settled once the microtasks ran, or its body is
 * still streaming) makes Bun close the connection at once: the first request is aborted and
 * neither gets a byte (or only the head of a streamed first answer). No server setting changes
 * it. The close is uWS's HTTP_RESPONSE_PENDING branch in packages/bun-uws/src/HttpContext.h
 * ("denying async pipelining"); oven-sh/bun#38128 (an open pull request) would hold the request.
 */
import * as http from "node:http";
import * as net from "node:net";

const DELAY_MS = 1_000;
const enc = new TextEncoder();

type Handler = (req: Request, server: Bun.Server<undefined>) => Response | Promise<Response>;
interface Case {
  name: string;
  handler: Handler;
  /** the bytes of request n (1 or 2) */
  request?: (n: number) => string;
  /** write the second request this many ms after the first (default: both in one write) */
  gapMs?: number;
  idleTimeout?: number;
}

const get = (n: number) => `GET /p HTTP/1.1\r\nHost: 127.0.0.1\r\nx-n: ${n}\r\n\r\n`;
const body = JSON.stringify({ model: "m", messages: [] });
const post = (n: number) => `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-n: ${n}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
const chunked = (n: number) =>
  `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-n: ${n}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
const closeFirst = (make: (n: number) => string) => (n: number) => (n === 1 ? make(n).replace("\r\n", "\r\nconnection: close\r\n") : make(n));

const answer = (req: Request) => new Response(`answer-${req.headers.get("x-n")}`);
const later = async (req: Request): Promise<Response> => {
  await Bun.sleep(DELAY_MS);
  return answer(req);
};

const cases: Case[] = [
  { name: "GET, GET; handler answers synchronously", handler: answer },
  { name: "GET, GET; handler awaits a resolved promise only", handler: async (req) => answer(await Promise.resolve(req)) },
  {
    name: "GET, GET; handler awaits Bun.sleep(0)",
    handler: async (req) => {
      await Bun.sleep(0);
      return answer(req);
    },
  },
  { name: `GET, GET; handler awaits ${DELAY_MS} ms`, handler: later },
  {
    name: `POST, POST (content-length); body read first, then ${DELAY_MS} ms`,
    request: post,
    handler: async (req) => {
      await req.text();
      return later(req);
    },
  },
  {
    name: `POST, POST (chunked); body read first, then ${DELAY_MS} ms`,
    request: chunked,
    handler: async (req) => {
      await req.text();
      return later(req);
    },
  },
  {
    name: "POST, POST; body read after the wait",
    request: post,
    handler: async (req) => {
      await Bun.sleep(DELAY_MS);
      await req.text();
      return answer(req);
    },
  },
  {
    name: `POST, POST; streamed answer returned at once, body after ${DELAY_MS} ms`,
    request: post,
    handler: (req) =>
      new Response(
        new ReadableStream({
          async pull(c) {
            await Bun.sleep(DELAY_MS);
            c.enqueue(enc.encode(`answer-${req.headers.get("x-n")}`));
            c.close();
          },
        }),
      ),
  },
  {
    name: "POST, POST; server.timeout(req, 0) first",
    request: post,
    handler: (req, server) => {
      server.timeout(req, 0);
      return later(req);
    },
  },
  { name: "POST, POST; idleTimeout: 0", request: post, handler: later, idleTimeout: 0 },
  { name: `POST, then POST ${DELAY_MS / 4} ms later (first still pending)`, request: post, handler: later, gapMs: DELAY_MS / 4 },
  { name: `POST, then POST ${DELAY_MS * 2} ms later (first answered)`, request: post, handler: later, gapMs: DELAY_MS * 2 },
  { name: "POST (connection: close), POST", request: closeFirst(post), handler: later },
  { name: "GET (HTTP/1.0), GET", request: (n) => (n === 1 ? get(n).replace("HTTP/1.1", "HTTP/1.0") : get(n)), handler: later },
];

interface Outcome {
  statuses: string[];
  answers: string[];
  closedAtMs: number | undefined;
  aborted: number[];
}

/** Writes the two requests on one connection; resolves when both answers came, when the server closes, or 1.5 s after the last answer could have come. */
function exchange(port: number, request: (n: number) => string, gapMs: number | undefined, aborted: number[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    let closedAtMs: number | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ statuses: [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => m[1]!), answers: [...text.matchAll(/answer-\d/g)].map((m) => m[0]), closedAtMs, aborted });
    };
    const timer = setTimeout(finish, 2 * DELAY_MS + (gapMs ?? 0) + 1_500);
    socket.on("data", (d) => {
      text += d.toString("latin1");
      if (text.match(/answer-\d/g)?.length === 2) finish();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closedAtMs = Math.round(performance.now() - t0);
      finish();
    });
    socket.on("connect", () => {
      if (gapMs === undefined) socket.write(request(1) + request(2));
      else {
        socket.write(request(1));
        setTimeout(() => socket.write(request(2)), gapMs);
      }
    });
  });
}

function print(name: string, o: Outcome): void {
  const closed = o.closedAtMs === undefined ? "connection still open" : `server closed at ${o.closedAtMs} ms`;
  const aborted = o.aborted.length ? `, signal aborted: #${o.aborted.join(", #")}` : "";
  console.log(`${name}\n    statuses ${JSON.stringify(o.statuses)}, bodies ${JSON.stringify(o.answers)}, ${closed}${aborted}`);
}

console.log(`Bun ${Bun.version} (${Bun.revision.slice(0, 9)}), two requests on one connection, handler delay ${DELAY_MS} ms\n`);
for (const c of cases) {
  const aborted: number[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: c.idleTimeout ?? 10,
    fetch(req, srv) {
      const n = Number(req.headers.get("x-n"));
      req.signal.addEventListener("abort", () => aborted.push(n));
      return c.handler(req, srv);
    },
  });
  print(c.name, await exchange(server.port!, c.request ?? get, c.gapMs, aborted));
  server.stop(true);
}

// The same exchange against node:http under the same Bun, for comparison.
const node = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => setTimeout(() => res.end(`answer-${req.headers["x-n"]}`), DELAY_MS));
});
await new Promise<void>((r) => node.listen(0, "127.0.0.1", r));
print(`node:http (Bun ${Bun.version}): POST, POST; answer after ${DELAY_MS} ms`, await exchange((node.address() as net.AddressInfo).port, post, undefined, []));
node.close();
node.closeAllConnections();
