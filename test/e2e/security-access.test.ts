import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { laneConfig, scratchDir, startCcp, type CcpProcess } from "../support/ccp.ts";
import { runClaude, SONNET } from "../support/claude.ts";
import { cliHome, expectExit, runCli } from "../support/cli.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";

/**
 * Access and secrets, the way a team meets them: ccp on a LAN address with a proxy key,
 * Claude Code sending that key in a custom header and its own Anthropic key alongside, and
 * then every file, log line and HTTP answer of the run searched for every secret it used.
 */
const PROXY_KEY = "ccp-proxy-key-5b1f0c9e7a2d4f61";
const WRONG_KEY = "ccp-wrong-key-0000111122223333";
const ZAI_KEY = "zai-lane-key-9f8e7d6c5b4a39281706";
const CLIENT_KEY = "sk-ant-api03-client-secret-aaaabbbbccccdddd";
const OAUTH_TOKEN = "sk-ant-oat01-client-oauth-eeeeffffgggghhhh";
const SECRETS = { PROXY_KEY, WRONG_KEY, ZAI_KEY, CLIENT_KEY, OAUTH_TOKEN };

let upstream: FakeUpstream;
let ccp: CcpProcess;
/** Every HTTP answer and CLI output of the run, searched for secrets at the end. */
const outputs: string[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
  ccp = await startCcp({
    // A short budget for the zai lane, so an overload that never ends is answered within a test's time.
    config: laneConfig(upstream.url, upstream.caFile, { extra: "[lanes.zai.retry]\nbase_ms = 20\ncap_ms = 50\nbudget_ms = 1500\n" }).replace(
      "port = 0",
      'port = 0\nhost = "0.0.0.0"\ncapture = "all"\npersist = true',
    ),
    env: { ZAI_API_KEY: ZAI_KEY, CCP_PROXY_KEY: PROXY_KEY },
  });
});
afterAll(async () => {
  await ccp?.stop();
  await upstream?.close();
});

const json = (model = SONNET, stream = true) => JSON.stringify({ model, max_tokens: 8, stream, messages: [{ role: "user", content: "hi" }] });
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${ccp.url}${path}`, init);
  outputs.push(`${res.status} ${[...res.headers].join(" ")} ${await res.clone().text()}`);
  return res;
}
const post = (headers: Record<string, string>, body = json()) => call("/v1/messages?beta=true", { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

describe("starting on a non-loopback address", () => {
  test("without a proxy key, ccp start refuses and says why; a key variable named in the config but unset is refused too", async () => {
    const h = cliHome();
    const a = expectExit(await runCli(["start", "--foreground", "--port", "0", "--host", "0.0.0.0"], { env: h.env }), 2);
    expect(a.stderr).toContain("refusing to listen on 0.0.0.0");
    expect(a.stderr).toContain("CCP_PROXY_KEY");
    const file = join(h.home, "ccp.toml");
    writeFileSync(file, 'proxy_key_env = "TEAM_CCP_KEY"\n[lanes.a]\nbase_url = "https://a.example"\n[[routes]]\nmatch = "*"\nlane = "a"\n');
    const b = expectExit(await runCli(["start", "--foreground", "--port", "0", "--config", file], { env: h.env }), 2);
    expect(b.stderr).toContain("$TEAM_CCP_KEY is not set");
    const c = expectExit(await runCli(["start", "--foreground", "--port", "0", "--host", "0.0.0.0"], { env: { ...h.env, CCP_PROXY_KEY: "short" } }), 2);
    expect(c.stderr).toContain("too short");
  });

  test("with a key it listens there, and warns about a config file others can read that holds a key", async () => {
    expect(ccp.output()).toMatch(/ccp listening on http:\/\/0\.0\.0\.0:\d+/);
    const dir = scratchDir();
    const file = join(dir, "ccp.toml");
    writeFileSync(file, `# my key: ${CLIENT_KEY}\n[lanes.a]\nbase_url = "https://a.example"\n[[routes]]\nmatch = "*"\nlane = "a"\n`, { mode: 0o644 });
    const h = cliHome();
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "src", "cli", "main.ts"), "start", "--foreground", "--port", "0", "--config", file], {
      env: h.env,
      stdout: "pipe",
      stderr: "pipe",
    });
    let text = "";
    const dec = new TextDecoder();
    const until = Date.now() + 20_000;
    const reader = proc.stdout.getReader();
    while (!text.includes("ccp listening") && Date.now() < until) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    proc.kill("SIGTERM");
    await proc.exited;
    expect(text).toContain("appears to hold a key and is readable by group or others (mode 644)");
    expect(text).not.toContain(CLIENT_KEY);
  });
});

describe("with a proxy key, every endpoint but /healthz needs it", () => {
  test("without it or with a wrong one: 401 authentication_error; /healthz stays open", async () => {
    expect((await call("/healthz")).status).toBe(200);
    for (const path of ["/", "/status", "/metrics", "/readyz", "/dashboard", "/dashboard/data", "/v1/models"]) {
      for (const headers of [{}, { "x-ccp-key": WRONG_KEY }, { "x-api-key": CLIENT_KEY }] as Record<string, string>[]) {
        const res = await call(path, { headers });
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
      }
    }
    const res = await post({ "x-api-key": CLIENT_KEY });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("x-ccp-key");
  });

  test("accepted as x-ccp-key, x-api-key or Bearer; on the passthrough lane the client's own credentials still go through, the proxy key never", async () => {
    await upstream.reset();
    for (const path of ["/", "/status", "/metrics", "/readyz", "/dashboard/data", "/v1/models"]) {
      expect((await call(path, { headers: { "x-ccp-key": PROXY_KEY } })).status).toBe(200);
    }
    const a = await post({ "x-ccp-key": PROXY_KEY, "x-api-key": CLIENT_KEY });
    expect(await a.text()).toContain("message_stop");
    const b = await post({ "x-api-key": PROXY_KEY, authorization: `Bearer ${OAUTH_TOKEN}`, "anthropic-beta": "oauth-2025-04-20" });
    expect(await b.text()).toContain("message_stop");
    const c = await post({ authorization: `Bearer ${PROXY_KEY}` }, json("claude-haiku-4-5"));
    expect(await c.text()).toContain("message_stop");
    const seen = await upstream.requests();
    const messages = seen.filter((r) => r.path.includes("/v1/messages"));
    expect(messages.length).toBe(3);
    expect(messages[0]!.headers["x-api-key"]).toBe(CLIENT_KEY);
    expect(messages[1]!.headers.authorization).toBe(`Bearer ${OAUTH_TOKEN}`);
    expect(messages[1]!.headers["x-api-key"]).toBeUndefined();
    expect(messages[2]!.headers["x-api-key"]).toBe(ZAI_KEY);
    expect(messages[2]!.headers.authorization).toBeUndefined();
    for (const r of seen) expect(JSON.stringify(r)).not.toContain(PROXY_KEY);
  });

  test("Claude Code with the key in ANTHROPIC_CUSTOM_HEADERS works; without it, it gets the 401", async () => {
    await upstream.reset();
    const ok = await runClaude(ccp.url, {
      model: SONNET,
      env: { ANTHROPIC_API_KEY: CLIENT_KEY, ANTHROPIC_CUSTOM_HEADERS: `x-ccp-key: ${PROXY_KEY}`, CLAUDE_CODE_MAX_RETRIES: "0" },
    });
    expect(ok.json).toMatchObject({ is_error: false, result: "ok" });
    const seen = await upstream.requests();
    expect(seen.some((r) => r.headers["x-api-key"] === CLIENT_KEY)).toBe(true);
    for (const r of seen) expect(JSON.stringify(r)).not.toContain(PROXY_KEY);
    const denied = await runClaude(ccp.url, { model: SONNET, env: { ANTHROPIC_API_KEY: CLIENT_KEY, CLAUDE_CODE_MAX_RETRIES: "0" } });
    expect(denied.json).toMatchObject({ is_error: true });
  });

  test("ccp wrap hands Claude Code the key from $CCP_PROXY_KEY; ccp env refers to the variable, never prints the key", async () => {
    await upstream.reset();
    const h = cliHome({ CCP_PROXY_KEY: PROXY_KEY, ANTHROPIC_API_KEY: CLIENT_KEY, CLAUDE_CODE_MAX_RETRIES: "0" });
    const wrapped = expectExit(await runCli(["wrap", "--port", String(ccp.port), "claude", "-p", "ok", "--model", SONNET, "--output-format", "json"], { env: h.env }), 0);
    expect(JSON.parse(wrapped.stdout.trim().split("\n").pop()!)).toMatchObject({ is_error: false, result: "ok" });
    for (const r of await upstream.requests()) expect(JSON.stringify(r)).not.toContain(PROXY_KEY);
    const env = expectExit(await runCli(["env", "--port", String(ccp.port), "--shell", "bash"], { env: h.env }), 0);
    expect(env.stdout).toContain('export ANTHROPIC_CUSTOM_HEADERS="x-ccp-key: ${CCP_PROXY_KEY}";');
    outputs.push(wrapped.stdout, wrapped.stderr, env.stdout, env.stderr);
  });

  test("ccp status sends $CCP_PROXY_KEY; config show never prints it", async () => {
    const h = cliHome({ CCP_PROXY_KEY: PROXY_KEY, ZAI_API_KEY: ZAI_KEY });
    const status = expectExit(await runCli(["status", "--port", String(ccp.port), "--json"], { env: h.env }), 0);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, host: "0.0.0.0" });
    const show = expectExit(await runCli(["config", "show", "--json"], { env: h.env }), 0);
    expect(JSON.parse(show.stdout).config.access).toEqual({ key_env: "CCP_PROXY_KEY", key_required: false, key_set: true, clients: [] });
    const toml = expectExit(await runCli(["config", "show"], { env: h.env }), 0);
    const usage = await runCli(["usage", "--json", "--port", String(ccp.port)], { env: { ...h.env, CCP_HOME: join(ccp.home, "state") } });
    outputs.push(status.stdout, status.stderr, show.stdout, show.stderr, toml.stdout, toml.stderr, usage.stdout, usage.stderr);
  });

  test("without the key (or with a wrong one) status says it runs and asks for its key; ok fails its proxy check saying so", async () => {
    const h = cliHome({ ZAI_API_KEY: ZAI_KEY });
    const bare = expectExit(await runCli(["status", "--port", String(ccp.port)], { env: h.env }), 0);
    expect(bare.stdout).toContain("running");
    expect(bare.stdout).toContain("asks for its proxy key");
    expect(bare.stdout).not.toContain("not running");
    const json = expectExit(await runCli(["status", "--port", String(ccp.port), "--json"], { env: h.env }), 0);
    expect(JSON.parse(json.stdout)).toEqual({ running: true, port: ccp.port, needs_key: true });
    const wrong = expectExit(await runCli(["status", "--port", String(ccp.port)], { env: { ...h.env, CCP_PROXY_KEY: "a-wrong-key-of-enough-length" } }), 0);
    expect(wrong.stdout).toContain("refused the proxy key");
    const ok = expectExit(await runCli(["ok", "--port", String(ccp.port), "--json"], { env: h.env }), 1);
    const proxy = (JSON.parse(ok.stdout) as { checks: { name: string; pass: boolean; detail: string }[] }).checks.find((c) => c.name === "proxy");
    expect(proxy).toMatchObject({ pass: false, detail: expect.stringContaining("asks for its proxy key") });
    outputs.push(bare.stdout, bare.stderr, json.stdout, wrong.stdout, wrong.stderr, ok.stdout, ok.stderr);
  });
});

describe("an upstream that echoes the lane's key never hands it to a client", () => {
  const errorFrame = (error: unknown) => `event: error\ndata: ${JSON.stringify({ type: "error", error })}\n\n`;
  const zai = { pathPrefix: "/zai/" };
  const haiku = (stream = true) => post({ "x-ccp-key": PROXY_KEY }, json("claude-haiku-4-5", stream));
  const expectHidden = async (res: Response) => {
    const text = await res.text();
    expect(text).not.toContain(ZAI_KEY);
    expect(text).toContain("[redacted]");
    return text;
  };

  test("in ccp's own error messages: burst limits retried to the end, overloads, quota walls", async () => {
    try {
      await upstream.script(
        Array.from({ length: 200 }, () => ({
          kind: "sse" as const,
          frames: errorFrame({ type: "rate_limit_error", message: `[1302] too many for key ${ZAI_KEY}` }),
        })),
        zai,
      );
      const burst = await haiku();
      expect(burst.status).toBe(529);
      await upstream.reset();
      expect(await expectHidden(burst)).toContain("[1302] too many for key");

      await upstream.script(
        Array.from({ length: 200 }, () => ({
          kind: "status" as const,
          status: 503,
          body: { type: "error", error: { type: "api_error", message: `down for ${ZAI_KEY}` } },
        })),
        zai,
      );
      const overloaded = await haiku();
      await upstream.reset();
      expect(overloaded.status).toBe(529);
      await expectHidden(overloaded);

      await upstream.script([{ kind: "sse", frames: errorFrame({ type: "rate_limit_error", message: `[1113] quota exhausted for ${ZAI_KEY}` }) }], zai);
      const quota = await haiku();
      expect(quota.status).toBe(429);
      await expectHidden(quota);
    } finally {
      await upstream.reset();
    }
  });

  test("in a committed stream's error frame and in a JSON reply", async () => {
    const message = { id: "msg_x", type: "message", role: "assistant", model: "glm-4.5-air", content: [], stop_reason: null, usage: { input_tokens: 1, output_tokens: 1 } };
    const start = `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message })}\n\n`;
    try {
      const block = 'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n';
      await upstream.script([{ kind: "sse", frames: start + block + errorFrame({ type: "api_error", message: `broke for ${ZAI_KEY}` }) }], zai);
      const streamed = await haiku();
      expect(streamed.status).toBe(200);
      expect(await expectHidden(streamed)).toContain("event: error");

      await upstream.script(
        [
          {
            kind: "status",
            status: 200,
            body: {
              id: "msg_y",
              type: "message",
              role: "assistant",
              model: "glm-4.5-air",
              content: [{ type: "text", text: `your key is ${ZAI_KEY}` }],
              stop_reason: "end_turn",
              usage: { input_tokens: 1, output_tokens: 1 },
            },
          },
        ],
        zai,
      );
      const whole = await haiku(false);
      expect(whole.status).toBe(200);
      expect(JSON.parse(await expectHidden(whole)).content[0].text).toBe("your key is [redacted]");
    } finally {
      await upstream.reset();
    }
  });
});

describe("secrets never leak", () => {
  test("after a run with successes, upstream errors, refusals and aborts, no file, log line or answer holds any secret", async () => {
    await upstream.script([{ kind: "status", status: 401 }], { pathPrefix: "/zai/" });
    await post({ "x-ccp-key": PROXY_KEY }, json("claude-haiku-4-5")); // upstream 401 on the key lane
    await post({ "x-ccp-key": PROXY_KEY, "x-api-key": CLIENT_KEY }, `{"model": "${SONNET}", "oops`); // invalid JSON
    await post({ "x-ccp-key": PROXY_KEY, "x-api-key": CLIENT_KEY }, "x".repeat(33 * 1024 * 1024)); // over the limit
    await post({ "x-ccp-key": PROXY_KEY, authorization: `Bearer ${OAUTH_TOKEN}` }, json(SONNET, false));
    await post({ "x-ccp-key": WRONG_KEY, "x-api-key": CLIENT_KEY });
    await upstream.script([{ kind: "stall_mid_stream", afterEvents: 1 }], { pathPrefix: "/anthropic/" });
    const abort = new AbortController();
    const res = await fetch(`${ccp.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-ccp-key": PROXY_KEY, "x-api-key": CLIENT_KEY },
      body: json(),
      signal: abort.signal,
    });
    await res.body!.getReader().read();
    abort.abort();
    for (const path of ["/status", "/metrics", "/readyz", "/dashboard/data"]) await call(path, { headers: { "x-ccp-key": PROXY_KEY } });
    await ccp.usage(8);
    await ccp.stop();

    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(ccp.home);
    expect(files.some((f) => f.endsWith("usage.jsonl"))).toBe(true);
    expect(files.some((f) => f.endsWith(".db"))).toBe(true);
    expect(files.some((f) => f.includes("captures"))).toBe(true);
    const haystacks: [string, string][] = [
      ...files.filter((f) => !f.endsWith("ccp.toml")).map((f): [string, string] => [f, readFileSync(f).toString("latin1")]),
      ["ccp stdout and stderr", ccp.output()],
      ...outputs.map((o, i): [string, string] => [`answer ${i}`, o]),
    ];
    for (const [where, text] of haystacks) {
      for (const [name, secret] of Object.entries(SECRETS)) {
        if (text.includes(secret)) throw new Error(`${name} found in ${where}`);
      }
    }
    expect(haystacks.length).toBeGreaterThan(20);
  });
});
