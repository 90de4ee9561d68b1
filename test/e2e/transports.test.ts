import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { startInProcess, type InProcessCcp } from "../support/in-process.ts";
import { readUsageLines } from "../support/usage-file.ts";

/**
 * One suite, run against both transports (Hono's common.case habit): every behaviour a
 * lane promises must hold over HTTP/1.1 and HTTP/2 alike.
 */
let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

const config = (url: string, transport: string, caFile: string, timeouts = "connect_ms = 2000, tls_ms = 1500, headers_ms = 2000, idle_ms = 2000") => `port = 0
[lanes.up]
base_url = "${url}/up"
transport = "${transport}"
ca_file = "${caFile}"
timeouts = { ${timeouts} }
# Transport behaviour is observed raw here; the attempt loop's retries have their own tests.
retry = { attempts = 1, budget_ms = 1000 }
[[routes]]
match = "*"
lane = "up"
`;

const body = (stream = true) => JSON.stringify({ model: "claude-sonnet-4-5", stream, max_tokens: 16, messages: [{ role: "user", content: "hi" }] });
const post = (ccp: InProcessCcp, init: RequestInit = {}) =>
  fetch(`${ccp.url}/v1/messages?beta=true`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": "k" }, body: body(), ...init });

/** The usage line of one response, found by its x-ccp-rid (other requests may finish in between). */
async function usageOf(ccp: InProcessCcp, res: Response): Promise<Record<string, unknown>> {
  const rid = res.headers.get("x-ccp-rid");
  const until = Date.now() + 10_000;
  for (;;) {
    const line = readUsageLines(ccp.usageFile).find((l) => l.rid === rid);
    if (line) return line;
    if (Date.now() > until) throw new Error(`no usage line for ${rid}`);
    await Bun.sleep(50);
  }
}

describe.each([
  ["h1", "http/1.1"],
  ["h2", "h2"],
] as const)("transport %s", (transport, wire) => {
  let ccp: InProcessCcp;
  beforeAll(async () => {
    ccp = startInProcess(config(upstream.url, transport, upstream.caFile));
  });
  afterAll(async () => {
    await ccp?.stop(100);
  });
  beforeEach(async () => {
    await upstream.reset();
  });

  test("streams SSE through unchanged, and events arrive as they are sent", async () => {
    await upstream.script([{ kind: "normal", text: "one two three", delayMs: 700 }]);
    const res = await post(ccp);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now();
    expect(new TextDecoder().decode(first.value)).toContain("event: message_start");
    let text = new TextDecoder().decode(first.value);
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    // Seven more frames at 700 ms each follow message_start: the first one cannot have been held back.
    expect(Date.now() - firstAt).toBeGreaterThan(2_000);
    expect(text).toContain("event: message_stop");
    const [req] = await upstream.requests();
    expect(req?.protocol).toBe(wire);
  });

  test("stream:false gets one JSON body", async () => {
    const res = await post(ccp, { body: body(false) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toMatchObject({ type: "message", content: [{ type: "text", text: "ok" }] });
  });

  test("error statuses pass through with their envelope and headers", async () => {
    // A 529 whose retry-after is beyond the lane's time budget (1 s here) is not waited out.
    await upstream.script([
      { kind: "status", status: 401 },
      { kind: "status", status: 529, headers: { "retry-after": "3" } },
    ]);
    const a = await post(ccp);
    expect(a.status).toBe(401);
    expect(await a.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const b = await post(ccp);
    expect(b.status).toBe(529);
    expect(b.headers.get("retry-after")).toBe("3");
    expect(b.headers.get("x-should-retry")).toBe("false");
    expect(await b.json()).toMatchObject({ error: { type: "overloaded_error" } });
  });

  test("no response headers within headers_ms: a 504 timeout_error, recorded as headers_timeout", async () => {
    await upstream.script([{ kind: "stall_headers" }]);
    const res = await post(ccp);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "timeout_error" } });
    const line = await usageOf(ccp, res);
    expect(line).toMatchObject({ status: 504, failure_class: "headers_timeout", h2: transport === "h2" });
  });

  test("a stream that goes silent after it started ends with an event: error frame (idle_timeout)", async () => {
    await upstream.script([{ kind: "stall_mid_stream", afterEvents: 2 }]);
    const res = await post(ccp);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toStartWith("event: message_start");
    expect(text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"timeout_error"/);
    const line = await usageOf(ccp, res);
    expect(line).toMatchObject({ failure_class: "idle_timeout" });
  });

  test("a connection reset mid-stream ends with an event: error frame; the next request is fine", async () => {
    await upstream.script([{ kind: "reset", afterEvents: 3 }]);
    const text = await (await post(ccp)).text();
    expect(text).toContain("event: message_start");
    expect(text).toContain("event: error");
    expect(text).not.toContain("message_stop");
    const again = await post(ccp);
    expect(await again.text()).toContain("event: message_stop");
  });

  test("a reset before any header is a 502 with the failure class named", async () => {
    await upstream.script([{ kind: "reset" }]);
    const res = await post(ccp);
    expect(res.status).toBe(502);
    const message = ((await res.json()) as { error: { message: string } }).error.message;
    expect(message).toMatch(/: (reset|dead_session): /);
    // The server log says why, which the usage line's failure class alone does not.
    expect(ccp.logs.some((l) => / attempt 1 lane=up protocol=h[12] (reset|dead_session) after \d+ ms: \S/.test(l))).toBe(true);
    expect(await (await post(ccp)).text()).toContain("event: message_stop");
  });

  test("a client that goes away mid-stream aborts the upstream attempt and is recorded", async () => {
    await upstream.script([{ kind: "stall_mid_stream", afterEvents: 2 }]);
    const ac = new AbortController();
    const res = await post(ccp, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    const line = await usageOf(ccp, res);
    expect(line).toMatchObject({ failure_class: "client_abort" });
    expect(await (await post(ccp)).text()).toContain("event: message_stop");
  });

  test("count_tokens, models, healthz and HEAD / answer", async () => {
    const ct = await fetch(`${ccp.url}/v1/messages/count_tokens?beta=true`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [] }),
    });
    expect(await ct.json()).toEqual({ input_tokens: 42 });
    const models = (await (await fetch(`${ccp.url}/v1/models`, { headers: { "anthropic-version": "2023-06-01" } })).json()) as { data: unknown[] };
    expect(models.data.length).toBeGreaterThan(0);
    expect((await fetch(`${ccp.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${ccp.url}/`, { method: "HEAD" })).status).toBe(200);
  });

  test("concurrent streams all complete", async () => {
    const texts = await Promise.all(Array.from({ length: 8 }, () => post(ccp).then((r) => r.text())));
    for (const t of texts) expect(t).toContain("event: message_stop");
    expect((await upstream.requests()).every((r) => r.protocol === wire)).toBe(true);
  });
});

describe("connection phases", () => {
  test("a TLS handshake that never completes fails with tls_timeout after tls_ms, not headers_ms", async () => {
    for (const transport of ["h1", "h2"]) {
      const ccp = startInProcess(config(upstream.blackholeUrl, transport, upstream.caFile, "connect_ms = 2000, tls_ms = 800, headers_ms = 60000, idle_ms = 60000"));
      try {
        const res = await post(ccp);
        expect(res.status).toBe(502);
        expect(((await res.json()) as { error: { message: string } }).error.message).toContain("tls_timeout");
      } finally {
        await ccp.stop(100);
      }
    }
  });

  test("an upstream certificate nobody vouched for is refused (tls) over h1 and h2: no ca_file, no trust", async () => {
    await upstream.reset();
    for (const transport of ["h1", "h2"]) {
      const ccp = startInProcess(config(upstream.url, transport, upstream.caFile).replace(/^ca_file = .*\n/m, ""));
      try {
        const res = await post(ccp);
        expect(res.status).toBe(502);
        const message = ((await res.json()) as { error: { message: string } }).error.message;
        expect(message).toContain("tls");
        expect(message).not.toContain("tls_timeout");
      } finally {
        await ccp.stop(100);
      }
    }
    expect((await upstream.requests()).length).toBe(0);
  });

  test("a refused connection fails with connect", async () => {
    const ccp = startInProcess(config("https://127.0.0.1:1", "h1", upstream.caFile));
    try {
      const res = await post(ccp);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain("connect");
    } finally {
      await ccp.stop(100);
    }
  });
});

describe("HTTP/2 sessions", () => {
  let ccp: InProcessCcp;
  beforeAll(() => {
    ccp = startInProcess(config(upstream.url, "h2", upstream.caFile, "headers_ms = 60000, idle_ms = 60000, ping_after_ms = 500, ping_timeout_ms = 500"));
  });
  afterAll(async () => {
    await ccp?.stop(100);
  });
  beforeEach(async () => {
    await upstream.reset();
  });

  test("concurrent streams share one session (one connection)", async () => {
    await post(ccp).then((r) => r.text());
    const texts = await Promise.all(Array.from({ length: 6 }, () => post(ccp).then((r) => r.text())));
    for (const t of texts) expect(t).toContain("event: message_stop");
    const connections = new Set((await upstream.requests()).map((r) => r.connection));
    expect(connections.size).toBe(1);
  });

  test("GOAWAY before headers refuses the stream (goaway); the next request opens a new session", async () => {
    await post(ccp).then((r) => r.text());
    await upstream.script([{ kind: "goaway" }]);
    const refused = await post(ccp);
    expect(refused.status).toBe(502);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/: (goaway|reset): /);
    const next = await post(ccp);
    expect(await next.text()).toContain("event: message_stop");
    const [first, , third] = await upstream.requests();
    expect(third!.connection).not.toBe(first!.connection);
  });

  test("a graceful GOAWAY lets the stream finish", async () => {
    await upstream.script([{ kind: "goaway", afterEvents: 99 }]);
    expect(await (await post(ccp)).text()).toContain("event: message_stop");
    expect(await (await post(ccp)).text()).toContain("event: message_stop");
  });
});

describe("dead HTTP/2 peer", () => {
  test("a session that stops answering is PINGed, declared dead and replaced, long before headers_ms", async () => {
    const { startRelay } = await import("../support/relay.ts");
    const relay = await startRelay(upstream.port);
    const ccp = startInProcess(config(`https://127.0.0.1:${relay.port}`, "h2", upstream.caFile, "headers_ms = 60000, idle_ms = 60000, ping_after_ms = 500, ping_timeout_ms = 500"));
    try {
      await upstream.reset();
      expect(await (await post(ccp)).text()).toContain("event: message_stop");
      relay.freeze();
      const started = Date.now();
      const stuck = await post(ccp);
      expect(stuck.status).toBe(502);
      expect(((await stuck.json()) as { error: { message: string } }).error.message).toContain("dead_session");
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(await (await post(ccp)).text()).toContain("event: message_stop");
    } finally {
      await ccp.stop(100);
      relay.close();
    }
  });
});

describe("HTTP/1.1 keep-alive pool", () => {
  test("a kept-alive connection the upstream closes while idle is dropped from the pool: the next request needs no retry", async () => {
    // A raw HTTP/1.1 upstream that answers each request, then closes a connection left idle for 300 ms.
    const sse = "event: message_start\ndata: {}\n\nevent: message_stop\ndata: {}\n\n";
    const answer = `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: ${sse.length}\r\n\r\n${sse}`;
    let connections = 0;
    const up = Bun.listen<{ timer?: ReturnType<typeof setTimeout> }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(s) {
          connections++;
          s.data = {};
        },
        data(s, chunk) {
          clearTimeout(s.data.timer);
          if (!new TextDecoder().decode(chunk).includes("\r\n\r\n")) return;
          s.write(answer);
          s.data.timer = setTimeout(() => s.end(), 300);
        },
        close(s) {
          clearTimeout(s.data.timer);
        },
      },
    });
    const ccp = startInProcess(
      config(`http://127.0.0.1:${up.port}`, "h1", upstream.caFile)
        .replace(/^ca_file = .*\n/m, "")
        .replace("retry = { attempts = 1, budget_ms = 1000 }", "retry = { attempts = 3 }"),
    );
    try {
      const send = async () => {
        const res = await post(ccp);
        expect(await res.text()).toContain("message_stop");
        return res;
      };
      const first = await send();
      const second = await send();
      expect(connections).toBe(1); // the second request reused the connection
      await Bun.sleep(1_500); // the upstream closes the idle connection meanwhile
      const third = await send();
      expect(connections).toBe(2);
      const usage = await Promise.all([first, second, third].map((r) => usageOf(ccp, r) as Promise<{ attempts: unknown[] }>));
      expect(usage.map((u) => u.attempts.length)).toEqual([1, 1, 1]);
      expect(ccp.logs.filter((l) => / attempt \d+ lane=/.test(l))).toEqual([]);
    } finally {
      await ccp.stop(100);
      up.stop(true);
    }
  });

  test("Keep-Alive: timeout=N from the upstream: ccp gives the connection back a second sooner (timeout=1: not kept at all)", async () => {
    // An upstream that advertises a keep-alive timeout but never closes by itself: who closes is ccp.
    const sse = "event: message_start\ndata: {}\n\nevent: message_stop\ndata: {}\n\n";
    let timeoutS = 2;
    const opened: number[] = [];
    const closed: number[] = [];
    let next = 0;
    const up = Bun.listen<{ n: number }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(s) {
          s.data = { n: next++ };
          opened.push(s.data.n);
        },
        data(s, chunk) {
          if (!new TextDecoder().decode(chunk).includes("\r\n\r\n")) return;
          s.write(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nkeep-alive: timeout=${timeoutS}\r\ncontent-length: ${sse.length}\r\n\r\n${sse}`);
        },
        close(s) {
          closed.push(s.data.n);
        },
      },
    });
    const ccp = startInProcess(config(`http://127.0.0.1:${up.port}`, "h1", upstream.caFile).replace(/^ca_file = .*\n/m, ""));
    try {
      const send = async () => expect(await (await post(ccp)).text()).toContain("message_stop");
      await send();
      await send();
      expect(opened).toEqual([0]); // reused within the window
      // timeout=2 leaves ccp one second: the idle connection is closed by ccp, not by the upstream.
      for (let i = 0; i < 100 && closed.length === 0; i++) await Bun.sleep(50);
      expect(closed).toEqual([0]);
      await send();
      expect(opened).toEqual([0, 1]);
      // timeout=1 leaves no safe window: the connection is not kept, each request dials.
      timeoutS = 1;
      await send();
      await send();
      await send();
      expect(opened).toEqual([0, 1, 2, 3]);
    } finally {
      await ccp.stop(100);
      up.stop(true);
    }
  });
});

describe("transport auto against an upstream that speaks only HTTP/1.1 over TLS", () => {
  test("the h2 attempt's ALPN refusal is a tls failure, and the lane goes to HTTP/1.1 at once", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { sseAnswer } = await import("../support/scripted.ts");
    const dir = mkdtempSync(join(tmpdir(), "ccp-h1only-"));
    const made = Bun.spawnSync(
      [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stderr: "pipe" },
    );
    expect(made.exitCode).toBe(0);
    // Bun's server offers no HTTP/2: ALPN settles on http/1.1.
    const h1only = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      tls: { cert: Bun.file(join(dir, "cert.pem")), key: Bun.file(join(dir, "key.pem")) },
      fetch: () => new Response(sseAnswer("over h1").join(""), { headers: { "content-type": "text/event-stream" } }),
    });
    const ccp = startInProcess(config(`https://127.0.0.1:${h1only.port}`, "auto", join(dir, "cert.pem")).replace("retry = { attempts = 1, budget_ms = 1000 }", "retry = { attempts = 2 }"));
    try {
      const res = await post(ccp);
      expect(await res.text()).toContain("over h1");
      const line = await usageOf(ccp, res);
      expect(line).toMatchObject({ status: 200, downgraded: true, h2: false });
      expect((line.attempts as { protocol: string; outcome: string }[]).map((a) => `${a.protocol}/${a.outcome}`)).toEqual(["h2/tls", "h1/ok"]);
    } finally {
      await ccp.stop(100);
      h1only.stop(true);
    }
  });
});
