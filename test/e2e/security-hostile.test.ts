import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { startCcp, type CcpProcess } from "../support/ccp.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { complete, rawJson, rawRequest, rssOf } from "../support/raw-http.ts";
import { toToml } from "../support/toml.ts";

/**
 * Hostile and malformed input against the real `ccp start` process: each gets Anthropic's
 * error envelope with the right status, nothing reaches a host that is not a lane, slow and
 * non-reading clients cannot pin memory, and the proxy keeps serving throughout.
 */
let upstream: FakeUpstream;
let ccp: CcpProcess;
/** A listener no request may ever reach: every smuggling attempt below names it. */
let canary: net.Server;
let canaryHits = 0;
/** A plain-HTTP upstream that streams SSE as fast as the proxy takes it, counting what it could send. */
let flood: net.Server;
const floodSent = { bytes: 0, open: 0, closed: 0 };

beforeAll(async () => {
  upstream = await startFakeUpstream();
  canary = net.createServer((s) => {
    canaryHits++;
    s.destroy();
  });
  flood = net.createServer((s) => {
    floodSent.open++;
    s.on("error", () => {});
    s.once("close", () => floodSent.closed++);
    s.once("data", () => {
      s.write("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n");
      const frame = (event: string, data: unknown) => {
        const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
        return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
      };
      s.write(
        frame("message_start", {
          type: "message_start",
          message: { id: "m", type: "message", role: "assistant", model: "flood", content: [], usage: { input_tokens: 1, output_tokens: 1 } },
        }),
      );
      const delta = frame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "x".repeat(4_000) } });
      const pump = () => {
        while (!s.destroyed) {
          floodSent.bytes += delta.length;
          if (!s.write(delta)) return void s.once("drain", pump);
        }
      };
      pump();
    });
  });
  await Promise.all([new Promise<void>((r) => canary.listen(0, "127.0.0.1", r)), new Promise<void>((r) => flood.listen(0, "127.0.0.1", r))]);
  const fakeCa = { ca_file: upstream.caFile };
  ccp = await startCcp({
    config: toToml({
      port: 0,
      limits: { max_body_mb: 1, body_timeout_ms: 1_500, idle_timeout_s: 2 },
      lanes: {
        anthropic: { base_url: `${upstream.url}/anthropic`, transport: "h2", ...fakeCa },
        zai: { base_url: `${upstream.url}/zai/api/anthropic`, auth: "key", key_env: "ZAI_API_KEY", transport: "h1", dialect: "zai", ...fakeCa },
        flood: { base_url: `http://127.0.0.1:${(flood.address() as net.AddressInfo).port}`, transport: "h1" },
      },
      routes: [
        { match: "claude-haiku-*", lane: "zai" },
        { match: "flood-*", lane: "flood" },
        { match: "*", lane: "anthropic" },
      ],
    }),
    env: { ZAI_API_KEY: "zai-test-key" },
  });
});
afterAll(async () => {
  await ccp?.stop();
  await upstream?.close();
  canary?.close();
  flood?.close();
});

const body = (o: Record<string, unknown> = {}) => JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }], ...o });
/** No keep-alive: ccp closes idle connections after 2 s here, and a reused socket must not race that. */
const post = (path: string, init: RequestInit = {}) =>
  fetch(`${ccp.url}${path}`, {
    method: "POST",
    keepalive: false,
    ...init,
    headers: { "content-type": "application/json", "x-api-key": "sk-ant-api03-client", ...(init.headers as Record<string, string>) },
  });
const envelope = async (res: Response) => (await res.json()) as { type: string; error: { type: string; message: string }; request_id: string };
async function stillServing() {
  const res = await post("/v1/messages", { body: body() });
  expect(res.status).toBe(200);
  expect(await res.text()).toContain("event: message_stop");
}

describe("malformed requests get Anthropic's envelope and the right status", () => {
  test.each([
    ["invalid JSON", '{"model": ', 400, "invalid_request_error", "not valid JSON"],
    ["a JSON array", "[1,2]", 400, "invalid_request_error", "must be a JSON object"],
    ["a JSON string", '"claude"', 400, "invalid_request_error", "must be a JSON object"],
    ["null", "null", 400, "invalid_request_error", "must be a JSON object"],
    ["no model", '{"messages":[]}', 400, "invalid_request_error", "model"],
    ["a numeric model", '{"model":42}', 400, "invalid_request_error", "model"],
    ["a model with CR/LF", JSON.stringify({ model: "claude\r\n2026-01-01T00:00:00Z info forged" }), 400, "invalid_request_error", "printable"],
    ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x7d]), 400, "invalid_request_error", "not valid JSON"],
    ["an empty body", "", 400, "invalid_request_error", "not valid JSON"],
  ])("%s → %d %s", async (_name, payload, status, type, message) => {
    const res = await post("/v1/messages?beta=true", { body: payload as string });
    expect(res.status).toBe(status);
    const e = await envelope(res);
    expect(e).toMatchObject({ type: "error", error: { type } });
    expect(e.error.message).toContain(message);
    expect(e.request_id).toMatch(/^ccp_/);
  });

  test.each([
    ["text/plain", { "content-type": "text/plain" }],
    ["form data", { "content-type": "application/x-www-form-urlencoded" }],
    ["a latin1 charset", { "content-type": "application/json; charset=iso-8859-1" }],
    ["gzip", { "content-encoding": "gzip" }],
  ])("unsupported body (%s) → 415", async (_name, headers) => {
    const res = await post("/v1/messages", { body: body(), headers });
    expect(res.status).toBe(415);
    expect(await envelope(res)).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });

  test("unknown path → 404, wrong method → 405 with allow, both enveloped", async () => {
    const a = await fetch(`${ccp.url}/v1/complete`, { method: "POST", keepalive: false, body: "{}" });
    expect(a.status).toBe(404);
    expect(await envelope(a)).toMatchObject({ error: { type: "not_found_error" } });
    const b = await fetch(`${ccp.url}/v1/messages`, { method: "DELETE", keepalive: false });
    expect(b.status).toBe(405);
    expect(b.headers.get("allow")).toBe("POST");
    expect(await envelope(b)).toMatchObject({ error: { type: "invalid_request_error" } });
  });

  test("deeply nested JSON to a rewriting lane: refused or answered, never a crash", async () => {
    for (const depth of [10_000, 200_000]) {
      const nested = `{"model":"claude-haiku-4-5","max_tokens":8,"messages":[{"role":"user","content":${"[".repeat(depth)}${"]".repeat(depth)}}]}`;
      const res = await post("/v1/messages", { body: nested });
      expect([200, 400, 500]).toContain(res.status);
      if (res.status !== 200) expect(await envelope(res)).toMatchObject({ type: "error" });
      else await res.text();
    }
    await stillServing();
  });
});

describe("bodies over the limit (1 MiB here) → 413 request_too_large, the excess never buffered", () => {
  test("declared by content-length: refused before the upload, the connection stays usable", async () => {
    const res = await post("/v1/messages", { body: "x".repeat(3 * 1024 * 1024) });
    expect(res.status).toBe(413);
    const e = await envelope(res);
    expect(e.error).toMatchObject({ type: "request_too_large" });
    expect(e.error.message).toContain("limits.max_body_mb");
  });

  test("a 512 MiB declared body: the answer comes at once and ccp's memory does not follow the upload", async () => {
    const before = rssOf(ccp.pid);
    const chunk = Buffer.alloc(1024 * 1024, 0x78);
    let sent = 0;
    const a = await rawRequest(
      ccp.port,
      (s) => {
        s.write(`POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${512 * 1024 * 1024}\r\n\r\n`);
        const pump = () => {
          while (sent < 200 && !s.destroyed) {
            sent++;
            if (!s.write(chunk)) return void s.once("drain", pump);
          }
        };
        pump();
      },
      { until: complete, waitMs: 20_000 },
    );
    expect(a.status).toBe(413);
    expect(rawJson(a)).toMatchObject({ error: { type: "request_too_large" } });
    expect(rssOf(ccp.pid) - before).toBeLessThan(64 * 1024 * 1024);
  });

  test("chunked, no length: cut when the stream crosses the limit, the connection closed", async () => {
    const chunk = Buffer.alloc(256 * 1024, 0x78);
    const a = await rawRequest(
      ccp.port,
      (s) => {
        s.write("POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n");
        const t = setInterval(() => {
          if (s.destroyed) return clearInterval(t);
          s.write(`${chunk.length.toString(16)}\r\n`);
          s.write(chunk);
          s.write("\r\n");
        }, 5);
      },
      { until: complete, waitMs: 20_000 },
    );
    expect(a.status).toBe(413);
    expect(a.text.toLowerCase()).toContain("connection: close");
    expect(rawJson(a)).toMatchObject({ type: "error", error: { type: "request_too_large" } });
  });

  test("the usage log records them, and the proxy keeps serving", async () => {
    const until = Date.now() + 10_000;
    let lines = await ccp.usage(1);
    while (lines.filter((l) => l.status === 413).length < 3 && Date.now() < until) lines = await Bun.sleep(50).then(() => ccp.usage(1));
    expect(lines.filter((l) => l.status === 413 && l.err_type === "request_too_large").length).toBe(3);
    await stillServing();
  });
});

describe("a client can never make ccp contact a host that is not a lane", () => {
  test("absolute URLs, Host headers, @, .., CR/LF and unicode in paths, queries, headers and models: rejected or inert", async () => {
    await upstream.reset();
    const c = `127.0.0.1:${(canary.address() as net.AddressInfo).port}`;
    const json = body();
    const req = (target: string, extra = "", payload = json) =>
      `POST ${target} HTTP/1.1\r\nhost: ${c}\r\ncontent-type: application/json\r\nx-api-key: k\r\n${extra}content-length: ${Buffer.byteLength(payload)}\r\nconnection: close\r\n\r\n${payload}`;
    const attempts = [
      req(`http://${c}/v1/messages`),
      req(`https://${c}/v1/messages?beta=true`),
      req(`/v1/messages?url=http://${c}/&next=//${c}`),
      req(`/v1/messages?@${c}`),
      req(`//${c}/v1/messages`),
      req(`/v1/messages/../../@${c}/v1/messages`),
      req("/v1/%2e%2e/v1/messages"),
      req(`/v1/messages#@${c}`),
      req("/v1/messages", `x-forwarded-host: ${c}\r\nforwarded: host=${c}\r\nx-original-url: http://${c}/\r\n`),
      req("/v1/messages", "", body({ model: `http://${c}/v1/messages` })),
      req("/v1/messages", "", body({ model: `@${c}` })),
      req("/v1/messages", "", body({ model: "../../../../etc/passwd" })),
      req("/v1/messages", "", body({ model: "ｈｔｔｐ：／／１２７．０．０．１" })),
      req("/v1/ｍessages"),
      req("/v1/messages\u202e"),
      `POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-test: a\rHost: ${c}\r\ncontent-length: 2\r\n\r\n{}`,
      `POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-test: a\nHost: ${c}\r\ncontent-length: 2\r\n\r\n{}`,
      `POST /v1/messages\r\nHost: ${c} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`,
      `POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-test: a\u0000b\r\ncontent-length: 2\r\n\r\n{}`,
      `GET /v1/models?x=${c} HTTP/1.1\r\nhost: ${c}\r\n:authority: ${c}\r\nconnection: close\r\n\r\n`,
    ];
    const answers = await Promise.all(attempts.map((a) => rawRequest(ccp.port, Buffer.from(a, "utf8"), { waitMs: 10_000 })));
    for (const a of answers) expect([0, 200, 400, 403, 404, 405, 415, 431, 505]).toContain(a.status);
    expect(canaryHits).toBe(0);
    const seen = await upstream.requests();
    expect(seen.length).toBeGreaterThan(0);
    for (const r of seen) {
      expect(r.path).toMatch(/^\/(anthropic|zai\/api\/anthropic)\/v1\/(messages|models)(\?|$)/);
      expect(r.path).not.toMatch(/[\r\n]/);
      expect(r.headers.host ?? r.headers[":authority"] ?? `127.0.0.1:${upstream.port}`).toBe(`127.0.0.1:${upstream.port}`);
      expect(JSON.stringify(r.headers)).not.toContain(c);
    }
    await stillServing();
  });
});

describe("slow and stalled clients", () => {
  test("a request head trickled one byte at a time is cut off by the idle timeout (2 s here)", async () => {
    const head = `POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ${"a".repeat(500)}\r\n\r\n`;
    const a = await rawRequest(
      ccp.port,
      (s) => {
        let i = 0;
        const t = setInterval(() => (s.destroyed || i >= head.length ? clearInterval(t) : s.write(head[i++]!)), 100);
      },
      { waitMs: 30_000 },
    );
    expect(a.closed).toBe(true);
    expect(a.status).toBe(0);
    expect(a.ms).toBeLessThan(20_000);
  });

  test("a body trickled slower than body_timeout_ms (1.5 s here) gets 408 and the connection is closed", async () => {
    const json = body();
    const a = await rawRequest(
      ccp.port,
      (s) => {
        s.write(`POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${json.length}\r\n\r\n`);
        let i = 0;
        const t = setInterval(() => (s.destroyed || i >= json.length ? clearInterval(t) : s.write(json[i++]!)), 100);
      },
      { waitMs: 20_000 },
    );
    expect(a.status).toBe(408);
    expect(a.closed).toBe(true);
    expect(rawJson(a)).toMatchObject({ type: "error", error: { type: "timeout_error" } });
    expect(a.ms).toBeLessThan(10_000);
  });

  test("a client that stops reading a fast stream: the upstream is paused, ccp's memory stays flat, and its leaving cancels the upstream", async () => {
    const rssBefore = rssOf(ccp.pid);
    const json = body({ model: "flood-1" });
    let headers = false;
    const client = net.connect(ccp.port, "127.0.0.1");
    client.on("error", () => {});
    client.on("data", () => {
      if (headers) return;
      headers = true;
      client.pause(); // read the first bytes, then never again
    });
    client.write(`POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${json.length}\r\n\r\n${json}`);
    const until = Date.now() + 10_000;
    while (!headers && Date.now() < until) await Bun.sleep(20);
    expect(headers).toBe(true);
    await Bun.sleep(3_000);
    const sentAt3s = floodSent.bytes;
    await Bun.sleep(2_000);
    const sentAt5s = floodSent.bytes;
    const rssPaused = rssOf(ccp.pid);
    // Unbounded buffering would have taken gigabytes by now; what moved is socket buffers and one queue.
    expect(sentAt5s - sentAt3s).toBeLessThan(2 * 1024 * 1024);
    expect(sentAt5s).toBeLessThan(96 * 1024 * 1024);
    expect(rssPaused - rssBefore).toBeLessThan(128 * 1024 * 1024);
    client.destroy();
    const gone = Date.now() + 10_000;
    while (floodSent.closed < floodSent.open && Date.now() < gone) await Bun.sleep(50);
    expect(floodSent.closed).toBe(floodSent.open);
    const line = (await ccp.usage(1)).find((l) => l.model === "flood-1");
    expect(line).toMatchObject({ lane: "flood", failure_class: "client_abort" });
    await stillServing();
  });
});
