import { describe, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { exposureProblem, isLoopbackHost, makeAccess } from "../../src/config/access.ts";
import { configFileWarnings } from "../../src/config/file-safety.ts";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { AccessGate } from "../../src/server/access.ts";
import { readBodyBounded } from "../../src/server/body-limit.ts";
import { upstreamHeaders } from "../../src/upstream/forward-headers.ts";
import { parseMessagesBody } from "../../src/server/request-body.ts";
import { cachedUpstreamUrl, upstreamUrl } from "../../src/upstream/upstream-url.ts";
import { writeConfig } from "../support/config-file.ts";

const KEY = "proxy-key-0123456789abcdef";
const gate = (key: string | null = KEY) => new AccessGate(makeAccess("CCP_PROXY_KEY", false, key ?? undefined));

describe("the proxy key gate", () => {
  test("no key configured: everything passes, and x-ccp-key is still removed", () => {
    const h = new Headers({ "x-ccp-key": "whatever", "x-api-key": "client" });
    expect(gate(null).check(h, "/v1/messages")).toEqual({ ok: true });
    expect(h.has("x-ccp-key")).toBe(false);
    expect(h.get("x-api-key")).toBe("client");
  });

  test.each([
    ["x-ccp-key", { "x-ccp-key": KEY }],
    ["x-api-key", { "x-api-key": KEY }],
    ["authorization: Bearer", { authorization: `Bearer ${KEY}` }],
    ["bearer in lower case", { authorization: `bearer ${KEY}` }],
  ])("accepted as %s, and removed from the headers", (_name, headers) => {
    const h = new Headers(headers);
    expect(gate().check(h, "/v1/messages")).toEqual({ ok: true, client: "anonymous" });
    expect([...h.values()].join(" ")).not.toContain(KEY);
  });

  test("the client's own credentials stay when the key comes in x-ccp-key or the other header", () => {
    const a = new Headers({ "x-ccp-key": KEY, "x-api-key": "sk-ant-api03-client", authorization: "Bearer sk-ant-oat01-token" });
    expect(gate().check(a, "/v1/messages").ok).toBe(true);
    expect(a.get("x-api-key")).toBe("sk-ant-api03-client");
    expect(a.get("authorization")).toBe("Bearer sk-ant-oat01-token");
    const b = new Headers({ "x-api-key": KEY, authorization: "Bearer sk-ant-oat01-token" });
    expect(gate().check(b, "/v1/messages").ok).toBe(true);
    expect(b.has("x-api-key")).toBe(false);
    expect(b.get("authorization")).toBe("Bearer sk-ant-oat01-token");
  });

  test.each([
    ["nothing", {}, "missing"],
    ["a client key only", { "x-api-key": "sk-ant-api03-client" }, "wrong"],
    ["a wrong x-ccp-key", { "x-ccp-key": `${KEY}x` }, "wrong"],
    ["a prefix of the key", { "x-ccp-key": KEY.slice(0, -1) }, "wrong"],
    ["the key with spaces around in x-api-key", { "x-api-key": ` ${KEY}x` }, "wrong"],
    ["Basic instead of Bearer", { authorization: `Basic ${KEY}` }, "wrong"],
    ["the key in the query-like header", { "x-ccp-key2": KEY }, "missing"],
  ])("refused: %s", (_name, headers, reason) => {
    expect(gate().check(new Headers(headers as Record<string, string>), "/status")).toEqual({ ok: false, reason: reason as "missing" | "wrong" });
  });

  test("only /healthz is open", () => {
    for (const path of ["/", "/status", "/metrics", "/dashboard", "/dashboard/data", "/readyz", "/v1/models", "/v1/messages", "/nope"]) {
      expect(gate().check(new Headers(), path).ok).toBe(false);
    }
    expect(gate().check(new Headers(), "/healthz").ok).toBe(true);
  });

  test("the key is never enumerable on the config: spreads and JSON do not carry it", () => {
    const access = makeAccess("CCP_PROXY_KEY", false, KEY);
    expect(access.key).toBe(KEY);
    expect(JSON.stringify(access)).not.toContain(KEY);
    expect(JSON.stringify({ ...access })).not.toContain(KEY);
    expect(Bun.inspect(access)).not.toContain(KEY);
  });
});

describe("listening address", () => {
  test("loopback is told apart from everything else", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"]) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "127.0.0.1.nip.io", "localhost.example.com"]) expect(isLoopbackHost(h)).toBe(false);
  });

  const access = (key?: string, required = false) => makeAccess("CCP_PROXY_KEY", required, key);
  test("anything but loopback needs a key; a named key variable is mandatory; short keys are refused", () => {
    expect(exposureProblem({ host: "127.0.0.1", access: access() })).toBeUndefined();
    expect(exposureProblem({ host: "0.0.0.0", access: access() })?.message).toContain("refusing to listen on 0.0.0.0");
    expect(exposureProblem({ host: "0.0.0.0", access: access(KEY) })).toBeUndefined();
    expect(exposureProblem({ host: "127.0.0.1", access: access(undefined, true) })?.message).toContain("$CCP_PROXY_KEY is not set");
    expect(exposureProblem({ host: "0.0.0.0", access: access("short") })?.message).toContain("too short");
    expect(exposureProblem({ host: "0.0.0.0", access: access(`${KEY}\n`) })?.message).toContain("control characters");
  });

  test("config: proxy_key_env names the variable and makes it mandatory; --host wins and is validated", () => {
    const file = writeConfig('proxy_key_env = "TEAM_KEY"\nhost = "0.0.0.0"\n[lanes.a]\nbase_url = "https://a.example"\n[[routes]]\nmatch = "*"\nlane = "a"\n');
    const c = loadConfig({ file, env: { HOME: "/h", TEAM_KEY: KEY, CCP_PROXY_KEY: "ignored-ignored-ignored" } });
    expect(c.access).toMatchObject({ key_env: "TEAM_KEY", key_required: true, key_set: true });
    expect(c.access.key).toBe(KEY);
    expect(c.host).toBe("0.0.0.0");
    expect(loadConfig({ file, env: { HOME: "/h" }, host: "127.0.0.1" }).host).toBe("127.0.0.1");
    expect(() => loadConfig({ file, env: { HOME: "/h" }, host: "http://evil.example/" })).toThrow(ConfigError);
    const plain = loadConfig({
      file: writeConfig('[lanes.a]\nbase_url = "https://a.example"\n[[routes]]\nmatch = "*"\nlane = "a"\n'),
      env: { HOME: "/h", CCP_PROXY_KEY: KEY },
    });
    expect(plain.access).toMatchObject({ key_env: "CCP_PROXY_KEY", key_required: false, key_set: true });
    expect(plain.limits).toEqual({ max_body_mb: 32, body_timeout_ms: 60_000, idle_timeout_s: 30, max_json_nodes: 1_000_000, max_inflight_body_mb: 256 });
  });

  test("a config file that holds a key and is readable by others gets a warning; one others can write, too", () => {
    const file = writeConfig('# ZAI key: sk-zai-0123456789abcdefghij\n[lanes.a]\nbase_url = "https://a.example"\n');
    chmodSync(file, 0o644);
    expect(configFileWarnings(file, [])).toEqual([expect.stringContaining("appears to hold a key and is readable by group or others (mode 644)")]);
    chmodSync(file, 0o600);
    expect(configFileWarnings(file, [])).toEqual([]);
    const clean = writeConfig('[lanes.a]\nbase_url = "https://a.example"\n');
    chmodSync(clean, 0o644);
    expect(configFileWarnings(clean, [])).toEqual([]);
    expect(configFileWarnings(clean, ["a.example-not-a-key"])).toEqual([]);
    chmodSync(clean, 0o666);
    expect(configFileWarnings(clean, [])).toEqual([expect.stringContaining("writable by group or others")]);
  });
});

describe("a client never chooses the upstream host", () => {
  const base = "https://api.example.com/api/anthropic";
  test.each([
    "?beta=true",
    "?@evil.example",
    "?x=http://evil.example/&y=//evil.example",
    "?%0d%0aHost:%20evil.example",
    "?\r\nHost: evil.example",
    "?a=1#@evil.example",
    "?../../admin",
    "?%2e%2e/%2e%2e/",
    "?ｅｖｉｌ=．．／",
    "?\u202e=lmth.live",
  ])("query %j stays a query on the lane's host", (search) => {
    const url = upstreamUrl(base, "/v1/messages", search);
    expect(url.origin).toBe("https://api.example.com");
    expect(url.pathname).toBe("/api/anthropic/v1/messages");
    expect(url.hash).toBe("");
    expect(url.href).not.toMatch(/[\r\n\s]/);
    expect(url.search.slice(1)).not.toMatch(/[@/#?]/);
  });

  test("the cached URL is built once per lane, endpoint and query, and equals a fresh one (also past the cache's bound)", () => {
    const a = cachedUpstreamUrl(base, "/v1/messages", "?beta=true");
    expect(cachedUpstreamUrl(base, "/v1/messages", "?beta=true")).toBe(a);
    expect(a.href).toBe(upstreamUrl(base, "/v1/messages", "?beta=true").href);
    expect(cachedUpstreamUrl(base, "/v1/models", "?beta=true")).not.toBe(a);
    for (let i = 0; i < 600; i++) {
      expect(cachedUpstreamUrl(base, "/v1/messages", `?n=${i}`).href).toBe(`https://api.example.com/api/anthropic/v1/messages?n=${i}`);
    }
  });

  test("a body must be UTF-8 JSON; a leading byte order mark is allowed, as a decoder drops it", () => {
    const json = new TextEncoder().encode(JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "héllo ✓" }] }));
    const ok = parseMessagesBody(json);
    expect(ok.ok && ok.body.json).toEqual({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "héllo ✓" }] });
    expect(parseMessagesBody(new Uint8Array([0xef, 0xbb, 0xbf, ...json])).ok).toBe(true);
    const latin1 = new Uint8Array([...new TextEncoder().encode('{"model":"m","x":"'), 0xe9, ...new TextEncoder().encode('"}')]);
    const bad = parseMessagesBody(latin1);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toContain("not valid JSON");
    expect(parseMessagesBody(json.subarray(0, json.length - 3)).ok).toBe(false);
    // An all-ASCII body takes the Latin-1 fast path: escapes still decode to the same text.
    const ascii = new TextEncoder().encode('{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"h\\u00e9llo \\u2713"}]}');
    const fast = parseMessagesBody(ascii);
    expect(fast.ok && fast.body.json).toEqual({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "héllo ✓" }] });
    expect(parseMessagesBody(ascii.subarray(0, ascii.length - 2)).ok).toBe(false);
  });

  test("x-ccp-* and hop-by-hop headers never go upstream; a key lane replaces the client's credentials", () => {
    const client = new Headers({
      "x-ccp-key": "proxy",
      "x-ccp-anything": "1",
      host: "evil.example",
      "x-api-key": "client",
      connection: "keep-alive, x-drop",
      "x-drop": "1",
      "proxy-authorization": "Basic abc",
      "anthropic-version": "2023-06-01",
    });
    const out = upstreamHeaders(client, { auth: "key", header: "x-api-key", key: "lane-key" });
    expect(Object.fromEntries(out)).toEqual({ "anthropic-version": "2023-06-01", "x-api-key": "lane-key", "accept-encoding": "identity" });
    const pass = upstreamHeaders(client, { auth: "passthrough", header: "x-api-key", key: undefined });
    expect(Object.fromEntries(pass)).toEqual({ "anthropic-version": "2023-06-01", "x-api-key": "client", "accept-encoding": "identity" });
  });
});

describe("request bodies", () => {
  test.each([
    ["x".repeat(257), "at most 256"],
    ["claude\r\nfake log line", "printable"],
    ["claude\u2028x", "printable"],
    ["claude\u202ex", "printable"],
    ["claude\u0000", "printable"],
  ])("model %j is refused", (model, message) => {
    const r = parseMessagesBody(new TextEncoder().encode(JSON.stringify({ model })));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toContain(message);
  });

  test("model names with unicode, @, / and :// are just names", () => {
    for (const model of ["claude-3-5-sonnet@20240620", "anthropic/claude", "http://evil.example/", "ｃｌａｕｄｅ", "模型"]) {
      expect(parseMessagesBody(new TextEncoder().encode(JSON.stringify({ model }))).ok).toBe(true);
    }
  });

  const limits = { max_body_mb: 1000 / (1024 * 1024), body_timeout_ms: 300 };
  const streamOf = (chunks: Uint8Array[], delayMs = 0) =>
    new ReadableStream<Uint8Array>({
      async pull(c) {
        const next = chunks.shift();
        if (!next) return c.close();
        if (delayMs) await Bun.sleep(delayMs);
        c.enqueue(next);
      },
    });
  const req = (body: string | ReadableStream<Uint8Array> | null, headers: Record<string, string> = { "content-type": "application/json" }) =>
    new Request("http://x/v1/messages", { method: "POST", body, headers, duplex: "half" } as RequestInit);

  test("within the limit: the bytes, whole", async () => {
    const r = await readBodyBounded(req("x".repeat(1000), { "content-type": "application/json" }), limits);
    expect(r.ok && r.bytes.byteLength).toBe(1000);
    const chunked = await readBodyBounded(req(streamOf([new Uint8Array(400), new Uint8Array(600)])), limits);
    expect(chunked.ok && chunked.bytes.byteLength).toBe(1000);
  });

  test("over the limit: 413 from content-length without reading, or as soon as the stream crosses it", async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(300));
      },
    });
    const declared = await readBodyBounded(req(body, { "content-type": "application/json", "content-length": "5000" }), limits);
    expect(declared).toMatchObject({ ok: false, status: 413, errType: "request_too_large", close: false });
    expect(pulled).toBeLessThanOrEqual(1);
    const endless = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(new Uint8Array(300)) });
    expect(await readBodyBounded(req(endless), limits)).toMatchObject({ ok: false, status: 413, close: true });
  });

  test("a trickled body is cut at body_timeout_ms with 408", async () => {
    const t0 = performance.now();
    const r = await readBodyBounded(
      req(
        streamOf(
          Array.from({ length: 50 }, () => new Uint8Array(1)),
          50,
        ),
      ),
      limits,
    );
    expect(r).toMatchObject({ ok: false, status: 408, close: true });
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  test.each([
    [{ "content-type": "text/plain" }, 415],
    [{ "content-type": "application/x-www-form-urlencoded" }, 415],
    [{ "content-type": "application/json; charset=latin1" }, 415],
    [{ "content-type": "multipart/form-data; boundary=x" }, 415],
    [{ "content-encoding": "gzip" }, 415],
    [{ "content-type": "application/json; charset=UTF-8" }, 0],
    [{ "content-type": "Application/JSON" }, 0],
    // No type: what a web page can post without a CORS preflight (no-cors fetch of a Blob, sendBeacon).
    [{}, 415],
  ])("headers %j → %d", async (headers, status) => {
    const r = await readBodyBounded(req("{}", headers as Record<string, string>), limits);
    if (status) expect(r).toMatchObject({ ok: false, status });
    else expect(r.ok).toBe(true);
  });
});
