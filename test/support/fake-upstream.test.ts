import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import tls from "node:tls";

import { type FakeUpstream, RICH_REDACTED_DATA, RICH_SIGNATURE, RICH_THINKING, errorEnvelope, richFrames, richMessage, startFakeUpstream, zaiWall } from "./fake-upstream/index.ts";

let up: FakeUpstream;
let ca: string;

beforeAll(async () => {
  up = await startFakeUpstream();
  ca = readFileSync(up.caFile, "utf8");
}, 60_000);

afterAll(async () => {
  await up?.close();
});

beforeEach(async () => {
  await up.reset();
});

interface SseEvent {
  event: string;
  data: unknown;
}

function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split("\n\n")) {
    if (!block.trim()) continue;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    out.push({ event, data: JSON.parse(data.join("\n")) });
  }
  return out;
}

function body(model = "claude-test", stream = true): string {
  return JSON.stringify({ model, stream, max_tokens: 16, messages: [{ role: "user", content: "hi" }] });
}

function h2connect(): http2.ClientHttp2Session {
  const s = http2.connect(up.url, { ca });
  s.on("error", () => {});
  return s;
}

interface H2Result {
  status: number;
  headers: http2.IncomingHttpHeaders;
  text: string;
}

function h2request(session: http2.ClientHttp2Session, path: string, payload: string, extraHeaders: Record<string, string> = {}): Promise<H2Result> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/json",
      "x-api-key": "sk-test-h2",
      ...extraHeaders,
    });
    let status = 0;
    let headers: http2.IncomingHttpHeaders = {};
    let text = "";
    req.setEncoding("utf8");
    req.on("response", (h) => {
      headers = h;
      status = Number(h[":status"]);
    });
    req.on("data", (c: string) => {
      text += c;
    });
    req.on("end", () => resolve({ status, headers, text }));
    req.on("error", reject);
    req.end(payload);
  });
}

function fetchUp(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${up.url}${path}`, { ...init, tls: { ca } } as RequestInit);
}

function curl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn("curl", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function closeSession(s: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed || s.closed) return resolve();
    const t = setTimeout(() => {
      s.destroy();
      resolve();
    }, 1000);
    s.close(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe("fake upstream", () => {
  test("h2 client: normal SSE stream, recorded as h2 with headers", async () => {
    const s = h2connect();
    try {
      const r = await h2request(s, "/v1/messages?beta=true", body("claude-h2"));
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe("text/event-stream");
      expect(String(r.headers["request-id"])).toMatch(/^req_fake_/);
      const events = parseSse(r.text);
      expect(events.map((e) => e.event)).toEqual(["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
      const start = events[0]!.data as { message: { model: string; usage: Record<string, number> } };
      expect(start.message.model).toBe("claude-h2");
      expect(start.message.usage).toEqual({
        input_tokens: 25,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 1,
      });
      const text = events
        .filter((e) => e.event === "content_block_delta")
        .map((e) => (e.data as { delta: { text: string } }).delta.text)
        .join("");
      expect(text).toBe("ok");
      const md = events[6]!.data as { delta: { stop_reason: string }; usage: { output_tokens: number } };
      expect(md.delta.stop_reason).toBe("end_turn");
      expect(md.usage.output_tokens).toBe(5);
    } finally {
      await closeSession(s);
    }
    const reqs = await up.requests();
    expect(reqs.length).toBe(1);
    const r0 = reqs[0]!;
    expect(r0.protocol).toBe("h2");
    expect(r0.method).toBe("POST");
    expect(r0.path).toBe("/v1/messages?beta=true");
    expect(r0.model).toBe("claude-h2");
    expect(r0.stream).toBe(true);
    expect(r0.bodyBytes).toBe(Buffer.byteLength(body("claude-h2")));
    expect(r0.behaviour).toBe("normal");
    expect(r0.headers["x-api-key"]).toBe("sk-test-h2");
    expect(typeof r0.at).toBe("number");
  }, 20_000);

  test("curl --http1.1: recorded as http/1.1, custom text + non-streaming JSON", async () => {
    await up.script([{ kind: "normal", text: "hello world" }]);
    const r = await curl([
      "-sS",
      "--http1.1",
      "--cacert",
      up.caFile,
      "-H",
      "authorization: Bearer tok-1",
      "-H",
      "content-type: application/json",
      "--data-binary",
      body("claude-h1", true),
      `${up.url}/v1/messages`,
    ]);
    expect(r.code).toBe(0);
    const events = parseSse(r.stdout);
    const text = events.filter((e) => e.event === "content_block_delta").map((e) => (e.data as { delta: { text: string } }).delta.text);
    expect(text.length).toBeGreaterThan(1);
    expect(text.join("")).toBe("hello world");

    const r2 = await curl(["-sS", "--http1.1", "--cacert", up.caFile, "--data-binary", body("claude-h1", false), `${up.url}/v1/messages`]);
    const msg = JSON.parse(r2.stdout) as { content: { text: string }[]; usage: { output_tokens: number } };
    expect(msg.content[0]!.text).toBe("ok");
    expect(msg.usage.output_tokens).toBe(5);

    const reqs = await up.requests();
    expect(reqs.map((q) => q.protocol)).toEqual(["http/1.1", "http/1.1"]);
    expect(reqs[0]!.headers.authorization).toBe("Bearer tok-1");
    expect(reqs[0]!.behaviour).toBe("normal");
    expect(reqs[1]!.stream).toBe(false);
  }, 20_000);

  test("Bun fetch with tls.ca; count_tokens, models, HEAD /", async () => {
    const ct = await fetchUp("/v1/messages/count_tokens", { method: "POST", body: body() });
    expect(ct.status).toBe(200);
    expect(await ct.json()).toEqual({ input_tokens: 42 });
    const models = await fetchUp("/v1/models");
    const list = (await models.json()) as { data: { id: string; type: string }[] };
    expect(list.data.length).toBeGreaterThan(0);
    expect(list.data[0]!.type).toBe("model");
    const head = await fetchUp("/", { method: "HEAD" });
    expect(head.status).toBe(200);
    const reqs = await up.requests();
    expect(reqs.map((q) => q.behaviour)).toEqual(["normal", "models", "head"]);
  }, 20_000);

  test("status behaviours return the Anthropic error envelope", async () => {
    await up.script([
      { kind: "status", status: 529 },
      { kind: "status", status: 429, headers: { "retry-after": "7" } },
      { kind: "status", status: 400, body: { custom: true } },
    ]);
    const a = await fetchUp("/v1/messages", { method: "POST", body: body() });
    expect(a.status).toBe(529);
    const ea = (await a.json()) as { type: string; error: { type: string; message: string }; request_id: string };
    expect(ea.type).toBe("error");
    expect(ea.error.type).toBe("overloaded_error");
    expect(ea.request_id).toBe(a.headers.get("request-id")!);
    const b = await fetchUp("/v1/messages", { method: "POST", body: body() });
    expect(b.status).toBe(429);
    expect(b.headers.get("retry-after")).toBe("7");
    expect(((await b.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error");
    const c = await fetchUp("/v1/messages", { method: "POST", body: body() });
    expect(c.status).toBe(400);
    expect(await c.json()).toEqual({ custom: true });
    const d = await fetchUp("/v1/messages", { method: "POST", body: body() });
    expect(d.status).toBe(200);
    await d.text();
    expect((errorEnvelope(504, "x") as { error: { type: string } }).error.type).toBe("timeout_error");
    expect((await up.requests()).map((q) => q.behaviour)).toEqual(["status", "status", "status", "normal"]);
  }, 20_000);

  test("sse behaviour sends raw frames (in-stream error)", async () => {
    const frames = 'event: error\ndata: {"type":"error","error":{"type":"api_error","code":"1302","message":"rate limited"}}\n\n';
    await up.script([{ kind: "sse", frames }]);
    const r = await fetchUp("/v1/messages", { method: "POST", body: body() });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    expect(await r.text()).toBe(frames);
  }, 20_000);

  test("rich stream is deterministic (thinking, text, tool_use)", async () => {
    await up.script([{ kind: "rich" }, { kind: "rich" }]);
    const a = await (await fetchUp("/v1/messages", { method: "POST", body: body("claude-rich") })).text();
    const s = h2connect();
    let b: string;
    try {
      b = (await h2request(s, "/v1/messages", body("claude-rich"))).text;
    } finally {
      await closeSession(s);
    }
    expect(a).toBe(richFrames("claude-rich").join(""));
    expect(b).toBe(a);
    const events = parseSse(a);
    const deltas = events.filter((e) => e.event === "content_block_delta").map((e) => (e.data as { delta: { type: string } }).delta.type);
    expect(deltas).toContain("thinking_delta");
    expect(deltas).toContain("signature_delta");
    expect(deltas).toContain("text_delta");
    expect(deltas.filter((t) => t === "input_json_delta").length).toBeGreaterThan(2);
    const json = events
      .filter((e) => (e.data as { delta?: { type: string } }).delta?.type === "input_json_delta")
      .map((e) => (e.data as { delta: { partial_json: string } }).delta.partial_json)
      .join("");
    expect(JSON.parse(json)).toEqual({ location: "San Francisco, CA", unit: "celsius" });
    const md = events.find((e) => e.event === "message_delta")!.data as { delta: { stop_reason: string } };
    expect(md.delta.stop_reason).toBe("tool_use");
  }, 20_000);

  test("end_without_stop cuts cleanly after the last content_block_delta", async () => {
    await up.script([{ kind: "end_without_stop" }]);
    const r = await fetchUp("/v1/messages", { method: "POST", body: body() });
    const events = parseSse(await r.text());
    expect(events.at(-1)!.event).toBe("content_block_delta");
    expect(events.some((e) => e.event === "message_stop")).toBe(false);
  }, 20_000);

  test("normal with delays and pings before the first event", async () => {
    await up.script([{ kind: "normal", firstEventDelayMs: 900, pingsBeforeFirst: 2, delayMs: 20 }]);
    const t0 = Date.now();
    const r = await fetchUp("/v1/messages", { method: "POST", body: body() });
    expect(Date.now() - t0).toBeLessThan(600); // headers come first
    const events = parseSse(await r.text());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(880);
    expect(events.slice(0, 3).map((e) => e.event)).toEqual(["ping", "ping", "message_start"]);
  }, 20_000);

  test("stall_headers really stalls (abort after 500 ms) and is recorded", async () => {
    await up.script([{ kind: "stall_headers" }]);
    const t0 = Date.now();
    const err = await fetch(`${up.url}/v1/messages`, {
      method: "POST",
      body: body("claude-stall"),
      signal: AbortSignal.timeout(500),
      tls: { ca },
    } as RequestInit).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    const reqs = await up.requests();
    expect(reqs.length).toBe(1);
    expect(reqs[0]!.behaviour).toBe("stall_headers");
    expect(reqs[0]!.model).toBe("claude-stall");
  }, 20_000);

  test("stall_mid_stream: headers + N events then silence", async () => {
    await up.script([{ kind: "stall_mid_stream", afterEvents: 2 }]);
    const s = h2connect();
    try {
      const got = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = s.request({ ":method": "POST", ":path": "/v1/messages" });
        let text = "";
        let status = 0;
        req.setEncoding("utf8");
        req.on("response", (h) => (status = Number(h[":status"])));
        req.on("data", (c: string) => (text += c));
        req.on("end", () => reject(new Error("stream ended but should stall")));
        req.on("error", () => {});
        setTimeout(() => {
          req.close(http2.constants.NGHTTP2_CANCEL);
          resolve({ status, text });
        }, 700);
        req.end(body());
      });
      expect(got.status).toBe(200);
      expect(parseSse(got.text).map((e) => e.event)).toEqual(["message_start", "content_block_start"]);
    } finally {
      s.destroy();
    }
  }, 20_000);

  test("reset errors the client (h1 before headers, h2 mid-stream)", async () => {
    await up.script([{ kind: "reset" }, { kind: "reset", afterEvents: 2 }]);
    const err = await fetchUp("/v1/messages", { method: "POST", body: body() }).then(
      async (r) => {
        await r.text();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeDefined();

    const s = h2connect();
    try {
      // Note: both Node's and Bun's http2 clients may emit "end" on a stream whose
      // connection died; the truncation shows in rstCode and the missing message_stop.
      const res = await new Promise<{ text: string; rstCode: number | undefined }>((resolve) => {
        const req = s.request({ ":method": "POST", ":path": "/v1/messages" });
        let text = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => (text += c));
        req.on("error", () => {});
        req.on("close", () => resolve({ text, rstCode: req.rstCode }));
        req.end(body());
      });
      expect(parseSse(res.text).map((e) => e.event)).toEqual(["message_start", "content_block_start"]);
      expect(res.rstCode).not.toBe(http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      s.destroy();
    }
    expect((await up.requests()).map((q) => q.behaviour)).toEqual(["reset", "reset"]);
  }, 20_000);

  test("goaway is received by an h2 client", async () => {
    await up.script([{ kind: "goaway", afterEvents: 1 }]);
    const s = h2connect();
    try {
      const goaway = new Promise<number>((resolve) => s.once("goaway", (code: number) => resolve(code)));
      const req = s.request({ ":method": "POST", ":path": "/v1/messages" });
      req.on("error", () => {});
      req.resume();
      req.end(body());
      const code = await goaway;
      expect(code).toBe(http2.constants.NGHTTP2_NO_ERROR);
      await new Promise<void>((resolve) => {
        if (s.destroyed) resolve();
        else s.once("close", () => resolve());
      });
    } finally {
      s.destroy();
    }
    expect((await up.requests())[0]!.behaviour).toBe("goaway");
  }, 20_000);

  test("goaway after the last event is graceful: the response completes", async () => {
    await up.script([{ kind: "goaway", afterEvents: 99 }]);
    const s = h2connect();
    try {
      const goaway = new Promise<number>((resolve) => s.once("goaway", (code: number) => resolve(code)));
      const r = await h2request(s, "/v1/messages", body());
      expect(r.status).toBe(200);
      expect(parseSse(r.text).at(-1)!.event).toBe("message_stop");
      expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      s.destroy();
    }
  }, 20_000);

  test("goaway before headers: the h2 stream fails without a response", async () => {
    await up.script([{ kind: "goaway" }]);
    const s = h2connect();
    try {
      const outcome = await new Promise<string>((resolve) => {
        const req = s.request({ ":method": "POST", ":path": "/v1/messages" });
        req.on("response", () => resolve("response"));
        req.on("error", () => resolve("error"));
        req.on("close", () => resolve("closed"));
        req.resume();
        req.end(body());
      });
      expect(outcome).not.toBe("response");
    } finally {
      s.destroy();
    }
  }, 20_000);

  /** One h2 request read to its end or reset: status (0 without headers), body, RST_STREAM code, GOAWAY seen. */
  function h2raw(s: http2.ClientHttp2Session, payload = body()): Promise<{ status: number; text: string; rstCode: number | undefined; chunks: number; goaway: boolean }> {
    let goaway = false;
    s.once("goaway", () => (goaway = true));
    return new Promise((resolve) => {
      const req = s.request({ ":method": "POST", ":path": "/v1/messages" });
      let status = 0;
      let text = "";
      let chunks = 0;
      req.setEncoding("utf8");
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", (c: string) => {
        chunks++;
        text += c;
      });
      req.on("error", () => {});
      req.on("close", () => resolve({ status, text, rstCode: req.rstCode, chunks, goaway }));
      req.end(payload);
    });
  }

  test("raw: head delay, waits, 1-byte writes (UTF-8 split), and each way of ending over h2", async () => {
    const piece = "data: é\n\n";
    await up.script([
      { kind: "raw", headers: [["content-type", "text/event-stream"]], pieces: ["a", piece], headersDelayMs: 150, waits: [0, 150], chunkBytes: 1 },
      { kind: "raw", pieces: ["part"], then: "rst_stream", code: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM },
      { kind: "raw", pieces: ["part"], then: "goaway" },
      { kind: "raw", pieces: ["whole"], then: "end_goaway" },
    ]);
    let s = h2connect();
    try {
      const t0 = Date.now();
      const a = await h2raw(s);
      expect(a.status).toBe(200);
      expect(a.text).toBe(`a${piece}`);
      expect(a.chunks).toBeGreaterThanOrEqual(Buffer.byteLength(piece)); // é's two bytes arrive apart
      expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
      const b = await h2raw(s);
      expect(b).toMatchObject({ status: 200, text: "part", rstCode: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM });
      const c = await h2raw(s);
      expect(c).toMatchObject({ status: 200, text: "part", goaway: true });
      expect(c.rstCode).not.toBe(http2.constants.NGHTTP2_NO_ERROR);
      s.destroy();
      s = h2connect();
      const d = await h2raw(s);
      expect(d).toMatchObject({ status: 200, text: "whole", goaway: true, rstCode: http2.constants.NGHTTP2_NO_ERROR });
    } finally {
      s.destroy();
    }
  }, 20_000);

  test("raw over h1: end_goaway says connection: close, a cut resets, a stall never ends; rst_stream before headers", async () => {
    await up.script([
      { kind: "raw", pieces: ["whole"], then: "end_goaway" },
      { kind: "raw", pieces: ["cut"], then: "rst_stream" },
      { kind: "raw", pieces: ["quiet"], then: "stall" },
      { kind: "rst_stream" },
    ]);
    const a = await fetchUp("/v1/messages", { method: "POST", body: body() });
    expect(a.headers.get("connection")).toBe("close");
    expect(await a.text()).toBe("whole");
    const b = await fetchUp("/v1/messages", { method: "POST", body: body() });
    expect(
      await b.text().then(
        () => "ended",
        () => "broken",
      ),
    ).toBe("broken");
    const c = await fetchUp("/v1/messages", { method: "POST", body: body() });
    const reader = c.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("quiet");
    expect(await Promise.race([reader.read().then(() => "more"), Bun.sleep(300).then(() => "silent")])).toBe("silent");
    void reader.cancel();
    const d = await fetchUp("/v1/messages", { method: "POST", body: body() }).then(
      () => "answered",
      () => "refused",
    );
    expect(d).toBe("refused");
    const s = h2connect();
    try {
      await up.script([{ kind: "rst_stream", code: http2.constants.NGHTTP2_REFUSED_STREAM }]);
      expect(await h2raw(s)).toMatchObject({ status: 0, text: "", rstCode: http2.constants.NGHTTP2_REFUSED_STREAM });
    } finally {
      s.destroy();
    }
  }, 20_000);

  test("requests({ model }) lists one model's requests", async () => {
    for (const m of ["a", "b", "a"]) await (await fetchUp("/v1/messages", { method: "POST", body: body(m, false) })).text();
    expect((await up.requests({ model: "a" })).map((q) => q.model)).toEqual(["a", "a"]);
    expect(await up.requests({ model: "a b/c" })).toEqual([]);
  }, 20_000);

  test("stall_upload: an h2 client writing 1 MB never drains within 2 s", async () => {
    await up.script([{ kind: "stall_upload" }], { pathPrefix: "/stall" });
    const s = h2connect();
    try {
      const req = s.request({ ":method": "POST", ":path": "/stall/v1/messages", "content-type": "application/json" });
      req.on("error", () => {});
      let responded = false;
      req.on("response", () => (responded = true));
      const big = Buffer.alloc(1024 * 1024, 0x61);
      const drained = await new Promise<boolean>((resolve) => {
        const ok = req.write(big, () => resolve(true));
        if (ok) resolve(true);
        req.once("drain", () => resolve(true));
        setTimeout(() => resolve(false), 2000);
      });
      expect(drained).toBe(false);
      expect(responded).toBe(false);
      const reqs = await up.requests();
      expect(reqs.length).toBe(1);
      expect(reqs[0]!.behaviour).toBe("stall_upload");
      expect(reqs[0]!.bodyBytes).toBe(0);

      // The stalled stream must not block the rest of the connection.
      const other = await h2request(s, "/v1/messages", JSON.stringify({ model: "m", stream: false, pad: "x".repeat(200_000) }));
      expect(other.status).toBe(200);
      req.close(http2.constants.NGHTTP2_CANCEL);
    } finally {
      s.destroy();
    }
  }, 20_000);

  test("blackholeUrl never completes TLS", async () => {
    const port = Number(new URL(up.blackholeUrl).port);
    const outcome = await new Promise<string>((resolve) => {
      let connected = false;
      const sock = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" });
      sock.on("secureConnect", () => resolve("secure"));
      sock.on("error", (e) => resolve(`error: ${e.message}`));
      sock.on("connect", () => (connected = true));
      setTimeout(() => {
        sock.destroy();
        resolve(connected ? "stalled" : "no-tcp");
      }, 1000);
    });
    expect(outcome).toBe("stalled");
  }, 20_000);

  test("script matching by pathPrefix and model; unmatched requests are normal", async () => {
    await up.script([{ kind: "status", status: 503 }], { pathPrefix: "/zai" });
    await up.script([{ kind: "status", status: 401 }], { model: "glm-4.6" });
    const a = await fetchUp("/v1/messages", { method: "POST", body: body("claude-x", false) });
    expect(a.status).toBe(200);
    await a.text();
    const b = await fetchUp("/other/v1/messages", { method: "POST", body: body("glm-4.6", false) });
    expect(b.status).toBe(401);
    await b.text();
    const c = await fetchUp("/zai/v1/messages?beta=true", { method: "POST", body: body("glm-4.6", false) });
    expect(c.status).toBe(503);
    await c.text();
    const d = await fetchUp("/zai/v1/messages", { method: "POST", body: body("glm-4.6", false) });
    expect(d.status).toBe(200);
    await d.text();
    expect((await up.requests()).map((q) => `${q.path} ${q.behaviour}`)).toEqual(["/v1/messages normal", "/other/v1/messages status", "/zai/v1/messages?beta=true status", "/zai/v1/messages normal"]);
  }, 20_000);

  test("setHeaders: sticky headers on every messages and count_tokens answer, any behaviour, h1 and h2", async () => {
    await up.setHeaders({ "Anthropic-Ratelimit-Unified-5h-Utilization": "0.42", "x-both": "sticky" });
    await up.script([
      { kind: "rich" },
      { kind: "status", status: 429, headers: { "X-Both": "own" } },
      { kind: "sse", frames: "event: ping\ndata: {}\n\n" },
      { kind: "raw", headers: [["x-both", "raw"]], pieces: ["x"] },
      { kind: "rich" },
      { kind: "status", status: 400 },
    ]);
    const h1: Response[] = [];
    for (let i = 0; i < 4; i++) h1.push(await fetchUp("/v1/messages", { method: "POST", body: body() }));
    h1.push(await fetchUp("/v1/messages/count_tokens", { method: "POST", body: body() }));
    for (const r of h1) {
      await r.text();
      expect(r.headers.get("anthropic-ratelimit-unified-5h-utilization")).toBe("0.42");
    }
    expect(h1.map((r) => r.status)).toEqual([200, 429, 200, 200, 200]);
    expect(h1.map((r) => r.headers.get("x-both"))).toEqual(["sticky", "own", "sticky", "raw", "sticky"]);
    const s = h2connect();
    try {
      for (const p of ["/v1/messages", "/v1/messages", "/v1/messages", "/v1/messages/count_tokens"]) {
        const r = await h2request(s, p, body());
        expect(r.headers["anthropic-ratelimit-unified-5h-utilization"]).toBe("0.42");
      }
    } finally {
      await closeSession(s);
    }
    const models = await fetchUp("/v1/models");
    await models.text();
    expect(models.headers.get("anthropic-ratelimit-unified-5h-utilization")).toBeNull();
  }, 20_000);

  test("setHeaders per match: replaced by a new set for the same match, added up across matches, cleared by reset()", async () => {
    await up.setHeaders({ "x-a": "1", "x-shared": "all" });
    await up.setHeaders({ "x-z": "1", "x-shared": "zai" }, { pathPrefix: "/zai" });
    await up.setHeaders({ "x-z": "2", "x-shared": "zai" }, { pathPrefix: "/zai" }); // replaces the whole set
    await up.setHeaders({ "x-model": "m" }, { model: "glm-4.6", endpoint: "messages" });
    const get = async (p: string, model = "claude-x"): Promise<Record<string, string | null>> => {
      const r = await fetchUp(p, { method: "POST", body: body(model, false) });
      await r.text();
      return Object.fromEntries(["x-a", "x-z", "x-shared", "x-model"].map((n) => [n, r.headers.get(n)]));
    };
    expect(await get("/v1/messages")).toEqual({ "x-a": "1", "x-z": null, "x-shared": "all", "x-model": null });
    expect(await get("/zai/v1/messages", "glm-4.6")).toEqual({ "x-a": "1", "x-z": "2", "x-shared": "zai", "x-model": "m" });
    expect(await get("/zai/v1/messages/count_tokens", "glm-4.6")).toEqual({ "x-a": "1", "x-z": "2", "x-shared": "zai", "x-model": null });
    await up.setHeaders({}, { pathPrefix: "/zai" });
    expect((await get("/zai/v1/messages"))["x-z"]).toBeNull();
    await up.reset();
    expect(await get("/zai/v1/messages", "glm-4.6")).toEqual({ "x-a": null, "x-z": null, "x-shared": null, "x-model": null });
  }, 20_000);

  const QUOTA = "/api/monitor/usage/quota/limit";

  function h2get(session: http2.ClientHttp2Session, path: string, headers: Record<string, string>): Promise<H2Result> {
    return new Promise((resolve, reject) => {
      const req = session.request({ ":method": "GET", ":path": path, ...headers });
      let status = 0;
      let text = "";
      req.setEncoding("utf8");
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", (c: string) => (text += c));
      req.on("end", () => resolve({ status, headers: {}, text }));
      req.on("error", reject);
      req.end();
    });
  }

  test("quota endpoint: Z.ai's default answer, any credential header, any prefix, h1 and h2; 401 without a credential; recorded", async () => {
    const t0 = Date.now();
    const a = await fetchUp(QUOTA, { headers: { authorization: "zai-raw-key" } });
    expect(a.status).toBe(200);
    const q = (await a.json()) as { code: number; success: boolean; data: { level: string; limits: { type: string; percentage: number; nextResetTime: number }[] } };
    expect(q).toMatchObject({ code: 200, msg: "Operation successful", success: true, data: { level: "pro" } });
    expect(q.data.limits.map((l) => `${l.type} ${l.percentage}`)).toEqual(["TOKENS_LIMIT 20", "TOKENS_LIMIT 5", "TIME_LIMIT 1"]);
    const hours = q.data.limits.map((l) => Math.round((l.nextResetTime - t0) / 3_600_000));
    expect(hours).toEqual([3, 5 * 24, 20 * 24]);
    const b = await fetchUp(`/zai${QUOTA}`, { headers: { "x-api-key": "zai-key-2" } });
    expect(b.status).toBe(200);
    await b.text();
    const none = await fetchUp(`/zai${QUOTA}`, { headers: { authorization: "Bearer " } });
    expect(none.status).toBe(401);
    expect(none.headers.get("content-type")).toBe("application/json");
    expect(((await none.json()) as { success: boolean }).success).toBe(false);
    const s = h2connect();
    try {
      const c = await h2get(s, `/zai${QUOTA}?x=1`, { authorization: "Bearer zai-bearer" });
      expect(c.status).toBe(200);
      expect((JSON.parse(c.text) as { data: { limits: unknown[] } }).data.limits.length).toBe(3);
      expect((await h2get(s, QUOTA, {})).status).toBe(401);
    } finally {
      await closeSession(s);
    }
    const reqs = await up.requests();
    expect(reqs.map((r) => `${r.protocol} ${r.method} ${r.path} ${r.behaviour}`)).toEqual([
      `http/1.1 GET ${QUOTA} quota`,
      `http/1.1 GET /zai${QUOTA} quota`,
      `http/1.1 GET /zai${QUOTA} quota_unauthorized`,
      `h2 GET /zai${QUOTA}?x=1 quota`,
      `h2 GET ${QUOTA} quota_unauthorized`,
    ]);
    expect(reqs[0]!.headers.authorization).toBe("zai-raw-key");
    expect(reqs[1]!.headers["x-api-key"]).toBe("zai-key-2");
    expect(reqs[3]!.headers.authorization).toBe("Bearer zai-bearer");
  }, 20_000);

  test("setQuota: status, body and delay as set; reset() restores the default answer", async () => {
    const auth = { headers: { authorization: "k" } };
    await up.setQuota({ body: { code: 200, success: true, data: { limits: [{ type: "TOKENS_LIMIT", percentage: 97 }] } } });
    expect(await (await fetchUp(QUOTA, auth)).json()).toEqual({ code: 200, success: true, data: { limits: [{ type: "TOKENS_LIMIT", percentage: 97 }] } });
    await up.setQuota({ status: 500 });
    const e = await fetchUp(QUOTA, auth);
    expect(e.status).toBe(500);
    expect(((await e.json()) as { success: boolean }).success).toBe(false);
    await up.setQuota({ status: 200, body: "not json", delayMs: 400 });
    const t0 = Date.now();
    const slow = await fetchUp(QUOTA, auth);
    expect(await slow.text()).toBe("not json");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
    const gaveUp = await fetch(`${up.url}${QUOTA}`, { ...auth, signal: AbortSignal.timeout(100), tls: { ca } } as RequestInit).then(
      () => "answered",
      () => "timed out",
    );
    expect(gaveUp).toBe("timed out");
    await up.reset();
    const d = await fetchUp(QUOTA, auth);
    expect(((await d.json()) as { data: { limits: { percentage: number }[] } }).data.limits[0]!.percentage).toBe(20);
  }, 20_000);

  test("zaiWall: a 429 with the wall's code in error.code, error.type or the message, as Z.ai sends it", async () => {
    const at = "2026-12-05 03:00:00";
    const five = `Usage limit reached for 5 hour. Your limit will reset at ${at}`;
    const week = `Weekly/Monthly Limit Exhausted. Your limit will reset at ${at}`;
    expect(zaiWall("1308", "code", at)).toEqual({ kind: "status", status: 429, body: { type: "error", error: { type: "rate_limit_error", code: "1308", message: five } } });
    await up.script([zaiWall("1308", "code", at), zaiWall("1310", "type", at), zaiWall("1310", "message", at), zaiWall("1308", "message", at)], { pathPrefix: "/zai" });
    const got: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetchUp("/zai/v1/messages", { method: "POST", body: body("glm-4.6") });
      expect(r.status).toBe(429);
      expect(r.headers.get("content-type")).toBe("application/json");
      got.push(await r.json());
    }
    expect(got).toEqual([
      { type: "error", error: { type: "rate_limit_error", code: "1308", message: five } },
      { type: "error", error: { type: "1310", message: week } },
      { type: "error", error: { type: "rate_limit_error", message: `[1310][${week}]` } },
      { type: "error", error: { type: "rate_limit_error", message: `[1308][${five}]` } },
    ]);
  }, 20_000);

  interface Block {
    type: string;
    thinking?: string;
    signature?: string;
    data?: string;
    text?: string;
  }

  /** A rich answer's content blocks (non-streaming), from `path`. */
  async function richContent(path: string, redacted = false, base = up.url): Promise<Block[]> {
    await up.script([{ kind: "rich", redacted }], { pathPrefix: path.split("/v1/")[0] || "/v1/" });
    const r = await fetch(`${base}${path}`, { method: "POST", body: body("m", false), tls: { ca } } as RequestInit);
    expect(r.status).toBe(200);
    return ((await r.json()) as { content: Block[] }).content;
  }

  /** A conversation whose second message is an assistant turn with these blocks. */
  function turn(assistant: Block[], extra: Record<string, unknown> = {}): string {
    const messages = [
      { role: "user", content: "weather?" },
      { role: "assistant", content: assistant },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_fake_rich_0001", content: "sunny" }] },
    ];
    return JSON.stringify({ model: "m", stream: false, max_tokens: 16, messages, ...extra });
  }

  async function post(path: string, payload: string): Promise<{ status: number; message: string }> {
    const r = await fetchUp(path, { method: "POST", body: payload });
    const j = (await r.json()) as { error?: { type: string; message: string } };
    if (r.status === 400) expect(j.error!.type).toBe("invalid_request_error");
    return { status: r.status, message: j.error?.message ?? "" };
  }

  test("verifySignatures: rich answers signed per instance and realm, h1 and h2, streaming and not; off: the fixed constants", async () => {
    expect((await richContent("/zai/v1/messages", true)).slice(0, 2)).toEqual([
      { type: "thinking", thinking: RICH_THINKING, signature: RICH_SIGNATURE },
      { type: "redacted_thinking", data: RICH_REDACTED_DATA },
    ]);
    await up.verifySignatures(true);
    const zai = await richContent("/zai/v1/messages", true);
    const plain = await richContent("/v1/messages", true);
    expect(zai[0]!.signature).not.toBe(RICH_SIGNATURE);
    expect(zai[0]!.signature).toMatch(/^[A-Za-z0-9+/]{43}=$/); // base64 of 32 bytes
    expect(plain[0]!.signature).not.toBe(zai[0]!.signature);
    expect(plain[1]!.data).not.toBe(zai[1]!.data);
    expect(zai.map((b) => b.type)).toEqual(["thinking", "redacted_thinking", "text", "tool_use"]);
    // The stream (h2 here) carries the same values in its signature_delta and redacted block.
    await up.script([{ kind: "rich", redacted: true }]);
    const s = h2connect();
    let streamed: string;
    try {
      streamed = (await h2request(s, "/zai/v1/messages", body("m", true))).text;
    } finally {
      await closeSession(s);
    }
    expect(streamed).toBe(richFrames("m", { redacted: true, signature: zai[0]!.signature!, redactedData: zai[1]!.data! }).join(""));
    expect(richMessage("m", { signature: "S" })).toMatchObject({ content: [{ type: "thinking", signature: "S" }, { type: "text" }, { type: "tool_use" }] });
    await up.reset(); // verification off again
    expect((await richContent("/zai/v1/messages"))[0]!.signature).toBe(RICH_SIGNATURE);
  }, 20_000);

  test("verifySignatures: only this instance's signature, made in this realm for exactly that text, passes; else Anthropic's 400", async () => {
    await up.verifySignatures(true);
    const zai = await richContent("/zai/v1/messages", true);
    const [thinking, redacted, ...rest] = zai;
    expect((await post("/zai/v1/messages", turn(zai))).status).toBe(200);
    expect(await post("/v1/messages", turn(zai))).toEqual({ status: 400, message: "messages.1.content.0: Invalid `signature` in `thinking` block" });
    const tampered = { ...thinking!, thinking: `${RICH_THINKING} ` };
    expect((await post("/zai/v1/messages", turn([tampered, ...rest]))).message).toBe("messages.1.content.0: Invalid `signature` in `thinking` block");
    const foreign = { ...redacted!, data: (await richContent("/other/v1/messages", true))[1]!.data };
    expect((await post("/zai/v1/messages", turn([thinking!, foreign, ...rest]))).message).toBe("messages.1.content.1: Invalid `signature` in `thinking` block");
    expect((await post("/zai/v1/messages", turn([thinking!, { type: "redacted_thinking", data: RICH_REDACTED_DATA }]))).status).toBe(400);
    expect(
      (
        await post(
          "/zai/v1/messages",
          turn([
            { type: "text", text: "hi" },
            { ...thinking!, signature: RICH_SIGNATURE },
          ]),
        )
      ).message,
    ).toBe("messages.1.content.1: Invalid `signature` in `thinking` block");
    // Another instance (another secret) refuses this one's signatures in the same realm.
    const other = await startFakeUpstream();
    try {
      await other.verifySignatures(true);
      const r = await fetch(`${other.url}/zai/v1/messages`, { method: "POST", body: turn(zai), tls: { ca: readFileSync(other.caFile, "utf8") } } as RequestInit);
      expect(r.status).toBe(400);
      await r.text();
      expect((await other.requests())[0]!.behaviour).toBe("invalid_signature");
    } finally {
      await other.close();
    }
    await up.verifySignatures(false);
    expect((await post("/v1/messages", turn(zai))).status).toBe(200);
    expect((await up.requests()).filter((q) => q.path.endsWith("/messages") && q.body?.includes("tool_result")).map((q) => q.behaviour)).toEqual([
      "normal",
      "invalid_signature",
      "invalid_signature",
      "invalid_signature",
      "invalid_signature",
      "invalid_signature",
      "normal",
    ]);
  }, 30_000);

  test("verifySignatures with thinking enabled: a final assistant turn with tool_use must start with thinking; a refused request consumes no script", async () => {
    await up.verifySignatures(true);
    const zai = await richContent("/zai/v1/messages");
    const [thinking, text, tool] = zai;
    const enabled = { thinking: { type: "enabled", budget_tokens: 1024 } };
    await up.script([{ kind: "status", status: 503 }], { pathPrefix: "/zai" });
    const refused = await post("/zai/v1/messages", turn([text!, tool!], enabled));
    expect(refused).toEqual({
      status: 400,
      message:
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, a final `assistant` message must start with a thinking block " +
        "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`.",
    });
    expect((await post("/zai/v1/messages", turn([tool!], enabled))).message).toContain("but found `tool_use`.");
    expect((await post("/zai/v1/messages", turn([thinking!, text!, tool!], enabled))).status).toBe(503); // the script was kept for it
    expect((await post("/zai/v1/messages", turn([text!, tool!]))).status).toBe(200); // thinking not enabled
    expect((await post("/zai/v1/messages", turn([text!], enabled))).status).toBe(200); // no tool_use
    const behaviours = (await up.requests()).slice(1).map((q) => q.behaviour);
    expect(behaviours).toEqual(["missing_thinking", "missing_thinking", "status", "normal", "normal"]);
  }, 20_000);

  test("reset() clears scripts and records and frees stalled requests", async () => {
    await up.script([{ kind: "stall_headers" }, { kind: "status", status: 500 }]);
    const pending = fetchUp("/v1/messages", { method: "POST", body: body() }).then(
      () => "resolved",
      () => "rejected",
    );
    for (let i = 0; i < 50 && (await up.requests()).length === 0; i++) await Bun.sleep(20);
    await up.reset();
    expect(await pending).toBe("rejected");
    expect(await up.requests()).toEqual([]);
    const r = await fetchUp("/v1/messages", { method: "POST", body: body() });
    expect(r.status).toBe(200);
    await r.text();
  }, 20_000);
});
