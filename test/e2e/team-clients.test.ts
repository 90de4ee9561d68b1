import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { laneConfig, startCcp, type CcpProcess } from "../support/ccp.ts";
import { HAIKU, runClaude, SONNET } from "../support/claude.ts";
import { cliHome, expectExit, runCli } from "../support/cli.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { parseExposition, sample } from "../support/prometheus.ts";

/**
 * One shared ccp for a team (issue 22): three named clients, each with a key of its own, using
 * it the way they would (Claude Code with the key in a custom header or as its auth token, the
 * SDK), and one with a wrong key. Each request's usage line, metrics and statistics name the
 * client; the wrong key gets 401 and the upstream never sees its request.
 */
const KEYS = { alice: "alice-team-key-7c1d2e3f4a5b6c7d", bob: "bob-team-key-0a9b8c7d6e5f4a3b", carol: "carol-team-key-1f2e3d4c5b6a7980" };
const PROXY_KEY = "ccp-proxy-key-5b1f0c9e7a2d4f61";
const WRONG_KEY = "dave-not-a-client-key-00112233";
const ZAI_KEY = "zai-lane-key-9f8e7d6c5b4a39281706";
const CLIENT_KEY = "sk-ant-api03-client-secret-aaaabbbbccccdddd";

let upstream: FakeUpstream;
let ccp: CcpProcess;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const clients = Object.keys(KEYS)
    .map((name) => `[clients.${name}]\nkey_env = "${name.toUpperCase()}_CCP_KEY"\n`)
    .join("");
  ccp = await startCcp({
    config: laneConfig(upstream.url, upstream.caFile, { extra: clients }).replace("port = 0", 'port = 0\nhost = "0.0.0.0"\ninstance = "team-box"'),
    env: { ZAI_API_KEY: ZAI_KEY, CCP_PROXY_KEY: PROXY_KEY, ALICE_CCP_KEY: KEYS.alice, BOB_CCP_KEY: KEYS.bob, CAROL_CCP_KEY: KEYS.carol },
  });
});
afterAll(async () => {
  await ccp?.stop();
  await upstream?.close();
});

type Line = { rid: string; client: string | null; session_id: string | null; agent_id: string | null; instance: string; status: number; lane: string };

describe("one shared ccp, three named clients", () => {
  const runs: Record<string, { rids: Set<string> }> = {};
  let lines: Line[] = [];

  test("alice (Claude Code, key in x-ccp-key), bob (the SDK), carol (Claude Code, key as its auth token) and the proxy key all get answers", async () => {
    await upstream.reset();
    const alice = await runClaude(ccp.url, {
      model: SONNET,
      env: { ANTHROPIC_API_KEY: CLIENT_KEY, ANTHROPIC_CUSTOM_HEADERS: `x-ccp-key: ${KEYS.alice}`, CLAUDE_CODE_MAX_RETRIES: "0" },
    });
    expect(alice.json, alice.stderr).toMatchObject({ is_error: false, result: "ok" });
    const sdk = new Anthropic({ baseURL: ccp.url, apiKey: CLIENT_KEY, defaultHeaders: { "x-ccp-key": KEYS.bob }, maxRetries: 0 });
    for (let i = 0; i < 3; i++) {
      const m = await sdk.messages.create({ model: SONNET, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }, { headers: { "x-claude-code-session-id": "bob-session-1" } });
      expect(m.type).toBe("message");
    }
    // carol's key as Claude Code's bearer token: the gate takes it, the zai lane sends its own key.
    const carol = await runClaude(ccp.url, { model: HAIKU, env: { ANTHROPIC_API_KEY: "", ANTHROPIC_AUTH_TOKEN: KEYS.carol, CLAUDE_CODE_MAX_RETRIES: "0" } });
    expect(carol.json, carol.stderr).toMatchObject({ is_error: false, result: "ok" });
    const anon = await fetch(`${ccp.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-ccp-key": PROXY_KEY, "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: SONNET, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(anon.status).toBe(200);
    const seen = await upstream.requests();
    for (const r of seen) for (const key of [...Object.values(KEYS), PROXY_KEY]) expect(JSON.stringify(r)).not.toContain(key);
    expect(seen.filter((r) => r.path.includes("/zai/")).every((r) => r.headers["x-api-key"] === ZAI_KEY)).toBe(true);
  });

  test("every usage line names its client and this instance; Claude Code's session id is recorded, one per run", async () => {
    // Every request above has finished; its line follows within a turn or two of the event loop.
    for (let n = -1; n !== lines.length; await Bun.sleep(500)) {
      n = lines.length;
      lines = (await ccp.usage(6)) as unknown as Line[];
    }
    const by = (c: string | null) => lines.filter((l) => l.client === c);
    for (const name of ["alice", "bob", "carol", "anonymous"]) {
      expect(by(name).length, name).toBeGreaterThan(0);
      runs[name] = { rids: new Set(by(name).map((l) => l.rid)) };
    }
    expect(lines.every((l) => l.instance === "team-box")).toBe(true);
    expect(lines.every((l) => ["alice", "bob", "carol", "anonymous"].includes(l.client ?? ""))).toBe(true);
    expect(by("bob").length).toBe(3);
    expect(by("bob").every((l) => l.session_id === "bob-session-1")).toBe(true);
    // Claude Code sends X-Claude-Code-Session-Id: one id for a whole `claude -p` run, another for the next run.
    const sessions = (c: string) => new Set(by(c).map((l) => l.session_id));
    expect(sessions("alice").size).toBe(1);
    expect(sessions("carol").size).toBe(1);
    const [aliceSession] = sessions("alice");
    expect(aliceSession).toMatch(/^[0-9a-f-]{36}$/);
    expect(sessions("carol").has(aliceSession!)).toBe(false);
    expect(by("anonymous").every((l) => l.session_id === null && l.agent_id === null)).toBe(true);
    expect(by("carol").every((l) => l.lane === "zai")).toBe(true);
  });

  test("metrics count each client's requests under its name", async () => {
    const m = await parseExposition(await (await fetch(`${ccp.url}/metrics`, { headers: { "x-ccp-key": KEYS.alice } })).text());
    for (const name of ["alice", "bob", "carol", "anonymous"]) expect(sample(m, "ccp_requests_total", { client: name }), name).toBe(runs[name]!.rids.size);
    expect(sample(m, "ccp_requests_total")).toBe(lines.length);
    expect(sample(m, "ccp_tokens_total", { client: "bob", type: "output" })).toBeGreaterThan(0);
    const clientValues = new Set([...m.text.matchAll(/client="([^"]*)"/g)].map((x) => x[1]));
    expect([...clientValues].sort()).toEqual(["alice", "anonymous", "bob", "carol"]);
  });

  test("ccp usage --stats --by client and --by session sum them per client and per session", async () => {
    const h = cliHome({ CCP_PROXY_KEY: KEYS.bob, CCP_HOME: join(ccp.home, "state") });
    const stats = JSON.parse(expectExit(await runCli(["usage", "--stats", "--by", "client", "--json", "--port", String(ccp.port)], { env: h.env }), 0).stdout) as {
      groups: { key: string; requests: number }[];
    };
    expect(Object.fromEntries(stats.groups.map((g) => [g.key, g.requests]))).toEqual(Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.rids.size])));
    const sessions = JSON.parse(expectExit(await runCli(["usage", "--stats", "--by", "session", "--json", "--port", String(ccp.port)], { env: h.env }), 0).stdout) as {
      groups: { key: string; requests: number }[];
    };
    expect(sessions.groups.find((g) => g.key === "bob-session-1")?.requests).toBe(3);
    const table = expectExit(await runCli(["usage", "--by", "client", "--port", String(ccp.port)], { env: h.env }), 0).stdout;
    expect(table).toMatch(/^alice\s+\d/m);
  });

  test("a key that is no client's: 401, nothing forwarded, no usage line, and the log line names no key", async () => {
    await upstream.reset();
    const before = (await ccp.usage()).length;
    const res = await fetch(`${ccp.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-ccp-key": WRONG_KEY, "x-api-key": CLIENT_KEY },
      body: JSON.stringify({ model: SONNET, max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const denied = await runClaude(ccp.url, { model: SONNET, env: { ANTHROPIC_API_KEY: CLIENT_KEY, ANTHROPIC_CUSTOM_HEADERS: `x-ccp-key: ${WRONG_KEY}`, CLAUDE_CODE_MAX_RETRIES: "0" } });
    expect(denied.json).toMatchObject({ is_error: true });
    // (the zai lane's quota poller may ask its own endpoint meanwhile: that is not a client's request)
    expect((await upstream.requests()).filter((r) => r.path.includes("/v1/"))).toEqual([]);
    await Bun.sleep(300);
    expect((await ccp.usage()).length).toBe(before);
    expect(ccp.output()).toMatch(/401 unknown key: POST "\/v1\/messages/);
    for (const key of [WRONG_KEY, ...Object.values(KEYS), PROXY_KEY, CLIENT_KEY]) expect(ccp.output()).not.toContain(key);
  });
});
