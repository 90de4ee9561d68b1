import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { laneConfig, scratchDir } from "../support/ccp.ts";
import { sseFrame, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { startInProcess, type InProcessCcp } from "../support/in-process.ts";
import { parseExposition, sample } from "../support/prometheus.ts";
import { readUsageLines } from "../support/usage-file.ts";

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

const body = (model: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, stream: true, max_tokens: 16, messages: [{ role: "user", content: "hi" }], ...extra });
const post = async (ccp: InProcessCcp, model: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) => {
  const res = await fetch(`${ccp.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "sk-ant-api03-test-client", ...headers },
    body: body(model, extra),
  });
  await res.text();
  return res;
};
const scrape = async (ccp: InProcessCcp) => parseExposition(await (await fetch(`${ccp.url}/metrics`)).text());

/** Z.ai's burst limit: HTTP 200, then an error frame carrying code 1302 (PROTOCOL.md). */
const BURST = sseFrame("error", { type: "error", error: { type: "rate_limit_error", message: "[1302] High concurrency usage of this API" }, code: "1302" });

describe("metrics count a known sequence of requests and faults", () => {
  let ccp: InProcessCcp;
  beforeAll(async () => {
    // zai: HTTP/2 with fallback to HTTP/1.1 (auto), one retry; anthropic: HTTP/2, no retry.
    const extra = `
[lanes.zai.retry]
attempts = 2
base_ms = 0
cap_ms = 0
[lanes.anthropic.retry]
attempts = 1
`;
    const cfg = laneConfig(upstream.url, upstream.caFile, { zai: "auto", extra }).replace("headers_ms = 300000", "headers_ms = 1500");
    ccp = startInProcess(cfg, { ZAI_API_KEY: "zai-test-key-0123456789" });
    await upstream.reset();
  });
  afterAll(async () => {
    await ccp?.stop(100);
  });

  test("requests, attempts, failures by class, retries, downgrades, in-stream error codes, histograms, tokens, gauges", async () => {
    const before = await scrape(ccp);
    expect(sample(before, "ccp_requests_total")).toBe(0);
    // 1. zai over HTTP/2 gets no headers in time: downgrade, and HTTP/1.1 answers.
    await upstream.script([{ kind: "stall_headers" }], { pathPrefix: "/zai" });
    expect((await post(ccp, "claude-haiku-4-5")).status).toBe(200);
    // 2. zai (now HTTP/1.1 for its cool-down) answers 529, the retry succeeds.
    await upstream.script([{ kind: "status", status: 529 }], { pathPrefix: "/zai" });
    expect((await post(ccp, "claude-haiku-4-5")).status).toBe(200);
    // 3. zai's burst limit (200 + error 1302 before any message), the retry succeeds.
    await upstream.script([{ kind: "sse", frames: BURST }], { pathPrefix: "/zai" });
    expect((await post(ccp, "claude-haiku-4-5")).status).toBe(200);
    // 4. a plain success on zai.
    expect((await post(ccp, "claude-haiku-4-5")).status).toBe(200);
    // 5. anthropic rejects the key: passed through, not retried.
    await upstream.script([{ kind: "status", status: 401 }], { pathPrefix: "/anthropic" });
    expect((await post(ccp, "claude-sonnet-4-5")).status).toBe(401);
    // 6. anthropic success; 7. anthropic stream reset after it started.
    expect((await post(ccp, "claude-sonnet-4-5")).status).toBe(200);
    await upstream.script([{ kind: "reset", afterEvents: 3 }], { pathPrefix: "/anthropic" });
    expect((await post(ccp, "claude-sonnet-4-5")).status).toBe(200);

    const m = await scrape(ccp);
    expect(sample(m, "ccp_requests_total")).toBe(7);
    expect(sample(m, "ccp_requests_total", { lane: "zai", model: "claude-haiku-4-5", status: "200", protocol: "h1" })).toBe(4);
    expect(sample(m, "ccp_requests_total", { lane: "anthropic", status: "401", protocol: "h2" })).toBe(1);
    expect(sample(m, "ccp_requests_total", { lane: "anthropic", status: "200", protocol: "h2" })).toBe(2);
    // The two counters operators asked for (README's PromQL).
    expect(sample(m, "ccp_upstream_attempts_total", { lane: "zai", protocol: "h2", outcome: "headers_timeout" })).toBe(1);
    expect(sample(m, "ccp_upstream_attempts_total", { lane: "zai", protocol: "h1", outcome: "ok" })).toBe(4);
    expect(sample(m, "ccp_upstream_attempts_total", { lane: "zai", protocol: "h1", outcome: "http_status" })).toBe(1);
    expect(sample(m, "ccp_upstream_attempts_total", { lane: "zai", protocol: "h1", outcome: "in_stream_error" })).toBe(1);
    expect(sample(m, "ccp_upstream_attempts_total", { lane: "anthropic", protocol: "h2", outcome: "http_status" })).toBe(1);
    // Four retried attempts, and the stream reset after it started: that attempt's outcome is reset.
    expect(sample(m, "ccp_upstream_attempts_total") - sample(m, "ccp_upstream_attempts_total", { outcome: "ok" })).toBe(5);
    expect(sample(m, "ccp_upstream_attempts_total")).toBe(4 + 3 + 3);
    expect(sample(m, "ccp_retries_total", { lane: "zai" })).toBe(3);
    expect(sample(m, "ccp_retries_total", { lane: "anthropic" })).toBe(0);
    expect(sample(m, "ccp_h2_downgrades_total", { lane: "zai" })).toBe(1);
    expect(sample(m, "ccp_fallbacks_total")).toBe(0);
    expect(sample(m, "ccp_in_stream_errors_total", { lane: "zai", code: "1302" })).toBe(1);
    expect(sample(m, "ccp_request_duration_seconds", { lane: "zai" })).toBe(4);
    expect(sample(m, "ccp_request_duration_seconds", { lane: "anthropic" })).toBe(3);
    expect(sample(m, "ccp_ttft_seconds", { lane: "zai" })).toBe(4);
    expect(sample(m, "ccp_tokens_total", { lane: "zai", type: "input" })).toBe(4 * 25);
    expect(sample(m, "ccp_tokens_total", { lane: "zai", type: "output" })).toBe(4 * 5);
    expect(sample(m, "ccp_lane_protocol", { lane: "zai", protocol: "h1" })).toBe(1);
    expect(sample(m, "ccp_lane_up", { lane: "zai" })).toBe(1);
    expect(sample(m, "ccp_inflight_requests")).toBe(0);

    // The usage records tell the same story.
    const lines = readUsageLines<{ attempts: unknown[]; lane: string }>(ccp.usageFile);
    expect(lines.filter((l) => l.lane === "zai").map((l) => l.attempts.length)).toEqual([2, 2, 2, 1]);

    // One definition of an error: the 401 and the stream reset after it started. Status,
    // metrics, dashboard, usage --errors and usage --stats count the same two; failed attempts apart.
    expect(sample(m, "ccp_request_errors_total")).toBe(2);
    expect(sample(m, "ccp_request_errors_total", { lane: "anthropic", failure_class: "reset" })).toBe(1);
    const status = (await (await fetch(`${ccp.url}/status`)).json()) as { errors: number };
    const dash = (await (await fetch(`${ccp.url}/dashboard/data`)).json()) as { totals: { errors: number; failed_attempts: number } };
    expect(status.errors).toBe(2);
    expect(dash.totals.errors).toBe(2);
    expect(dash.totals.failed_attempts).toBe(5);
    const home = join(ccp.usageFile, "..", "..", "..");
    const cli = (args: string[]) =>
      Bun.spawnSync([process.execPath, join(import.meta.dir, "..", "..", "src", "cli", "main.ts"), "usage", ...args, "--json"], {
        env: { PATH: process.env.PATH ?? "", HOME: home, CCP_HOME: home, NO_COLOR: "1" },
      });
    await Bun.sleep(600); // SQLite is written every 250 ms
    const stats = JSON.parse(cli(["--stats"]).stdout.toString()) as { groups: { requests: number; errors: number }[] };
    expect(stats.groups).toMatchObject([{ requests: 7, errors: 2 }]);
    const errorLines = cli(["--errors", "--tail", "100"]).stdout.toString().trim().split("\n").filter(Boolean);
    expect(errorLines).toHaveLength(2);
  });
});

describe("/readyz", () => {
  test("ready with unknown lanes; 503 once every lane failed its last attempt; names the failure", async () => {
    const ccp = startInProcess(`port = 0
[lanes.dead]
base_url = "https://127.0.0.1:1"
transport = "h1"
retry = { attempts = 1 }
[[routes]]
match = "*"
lane = "dead"
`);
    try {
      const first = await fetch(`${ccp.url}/readyz`);
      expect(first.status).toBe(200);
      expect(await first.json()).toMatchObject({ status: "ready", config: { profile: "default" }, lanes: [{ name: "dead", state: "unknown" }] });
      expect((await post(ccp, "claude-sonnet-4-5")).status).toBe(502);
      await Bun.sleep(50);
      const after = await fetch(`${ccp.url}/readyz`);
      expect(after.status).toBe(503);
      expect(await after.json()).toMatchObject({ status: "not_ready", lanes: [{ name: "dead", state: "unreachable", failure_class: "connect" }] });
      expect((await fetch(`${ccp.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${ccp.url}/metrics`, { method: "POST" })).status).toBe(405);
    } finally {
      await ccp.stop(100);
    }
  });
});

describe("capture", () => {
  const ZAI_KEY = "0123456789abcdef0123456789abcdef.ZaiSecretPart42";
  const CLIENT_KEY = "sk-ant-api03-ClientKeyValue-0123456789";
  const OAUTH = "sk-ant-oat01-OauthTokenValue-9876543210";
  const COOKIE_A = "cookieValueAAAA1234";
  const COOKIE_B = "cookieValueBBBB5678";
  const secrets = [ZAI_KEY, CLIENT_KEY, OAUTH, COOKIE_A, COOKIE_B];

  test("errors mode keeps failed requests only; no key, token or cookie value appears in any file", async () => {
    const ccp = startInProcess(`capture = "errors"\n${laneConfig(upstream.url, upstream.caFile, { extra: "[lanes.zai.retry]\nattempts = 1\n[lanes.anthropic.retry]\nattempts = 1\n" })}`, {
      ZAI_API_KEY: ZAI_KEY,
    });
    await upstream.reset();
    try {
      const headers = { "x-api-key": CLIENT_KEY, authorization: `Bearer ${OAUTH}`, cookie: `session=${COOKIE_A}; other=${COOKIE_B}` };
      // The client pasted its own key into the conversation: it must not reach a capture file either.
      const leaky = { messages: [{ role: "user", content: `my key is ${CLIENT_KEY}, cookie ${COOKIE_A}` }], metadata: { api_key: "plainApiKeyValue77" } };
      expect((await post(ccp, "claude-sonnet-4-5", headers, leaky)).status).toBe(200); // kept: no (success)
      await upstream.script([{ kind: "status", status: 529 }], { pathPrefix: "/zai" });
      const failed = await post(ccp, "claude-haiku-4-5", headers, leaky);
      expect(failed.status).toBe(529);
      await upstream.script([{ kind: "status", status: 500 }], { pathPrefix: "/anthropic" });
      expect((await post(ccp, "claude-sonnet-4-5", headers, leaky)).status).toBe(500);
      await ccp.stop(100);

      const dir = join(ccp.usageFile, "..", "..", "..", "captures");
      const files = readdirSync(dir);
      expect(files).toHaveLength(2);
      expect(files).toContain(`${failed.headers.get("x-ccp-rid")}.json`);
      for (const f of files) {
        const text = readFileSync(join(dir, f), "utf8");
        for (const s of [...secrets, "plainApiKeyValue77"]) expect(text).not.toContain(s);
        const cap = JSON.parse(text) as { request: { headers: Record<string, string>; body: string }; response: { body: string }; record: { status: number } };
        expect(cap.request.headers).toMatchObject({ "x-api-key": "[redacted]", authorization: "[redacted]", cookie: "[redacted]" });
        expect(cap.request.body).toContain('"messages"');
        expect(cap.response.body).toContain('"type":"error"');
        expect(cap.record.status).toBeGreaterThanOrEqual(500);
      }
      // The usage line says where the capture is; a success has none.
      const lines = readUsageLines<{ status: number; capture: string | null }>(ccp.usageFile);
      expect(lines.map((l) => [l.status, l.capture !== null && existsSync(l.capture)])).toEqual([
        [200, false],
        [529, true],
        [500, true],
      ]);
    } finally {
      await ccp.stop(100);
    }
  });

  test("CCP_CAPTURE_DIR captures every request (all mode), raw stream included, and keeps at most retention.captures files", async () => {
    const dir = join(scratchDir(), "caps");
    const ccp = startInProcess(`retention = { captures = 2 }\n${laneConfig(upstream.url, upstream.caFile)}`, { ZAI_API_KEY: ZAI_KEY, CCP_CAPTURE_DIR: dir });
    await upstream.reset();
    try {
      for (let i = 0; i < 3; i++) expect((await post(ccp, "claude-haiku-4-5", { "x-api-key": CLIENT_KEY })).status).toBe(200);
      await ccp.stop(100);
      const files = readdirSync(dir);
      expect(files).toHaveLength(2);
      for (const f of files) {
        const text = readFileSync(join(dir, f), "utf8");
        for (const s of secrets) expect(text).not.toContain(s);
        expect((JSON.parse(text) as { response: { body: string } }).response.body).toContain("event: message_stop");
      }
    } finally {
      await ccp.stop(100);
    }
  });
});

describe("/dashboard", () => {
  test("one self-contained page: no external asset, a restrictive CSP", async () => {
    const ccp = startInProcess(laneConfig(upstream.url, upstream.caFile), { ZAI_API_KEY: "z" });
    try {
      const res = await fetch(`${ccp.url}/dashboard`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("text/html");
      expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
      // Scripts run only by their hash: no inline script an injected string could add.
      const scriptSrc = res.headers.get("content-security-policy")?.match(/(?:^|;)\s*script-src ([^;]*)/)?.[1] ?? "";
      expect(scriptSrc).not.toContain("'unsafe-inline'");
      expect(scriptSrc).toStartWith("'sha256-");
      const html = await res.text();
      expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
      expect(html).not.toMatch(/<form/i);
      const root = await fetch(`${ccp.url}/`);
      expect(await root.json()).toMatchObject({ status: "ok", service: "ccp" });
      const data = (await (await fetch(`${ccp.url}/dashboard/data`)).json()) as { lanes: { name: string }[]; minutes: unknown[] };
      expect(data.lanes.map((l) => l.name).sort()).toEqual(["anthropic", "zai"]);
      expect(data.minutes).toHaveLength(60);
    } finally {
      await ccp.stop(100);
    }
  });
});
