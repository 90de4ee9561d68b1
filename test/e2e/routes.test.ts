import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startCcp, type CcpProcess } from "../support/ccp.ts";
import { runClaude, SONNET } from "../support/claude.ts";
import { cliHome, runCli } from "../support/cli.ts";
import { type FakeUpstream, sseFrame, startFakeUpstream } from "../support/fake-upstream/index.ts";

/**
 * Route conditions, as Claude Code's own requests meet them (a subagent run through the Agent
 * tool, thinking on and off, a long prompt, the Bash tool offered) and the SDK's (a server tool), a lane picked by
 * name, and `ccp route` explaining the same choices.
 */
const ZAI_KEY = "zai-lane-key-for-route-tests";
const LONG_KEY = "long-lane-key-for-route-tests";
/** The model of the tools_include = ["Bash"] route's requests (no other test here uses it; Claude Code 2.1.330 sends older Opus ids as this one). */
const OPUS = "claude-opus-5-5";
let upstream: FakeUpstream;
let ccp: CcpProcess;
let configFile: string;

const config = (url: string, ca: string) => `port = 0
[lanes.anthropic]
base_url = "${url}/anthropic"
ca_file = "${ca}"
[lanes.zai]
base_url = "${url}/zai/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
transport = "h1"
dialect = "zai"
ca_file = "${ca}"
quota_url = ""
[lanes.long]
base_url = "${url}/long"
auth = "key"
key_env = "LONG_KEY"
transport = "h1"
dialect = "generic"
ca_file = "${ca}"

[[routes]]
match = "*"
name = "subagents"
subagent = true
lane = "zai"

[[routes]]
match = "*"
name = "long-context"
min_input_tokens = 40000
lane = "long"

[[routes]]
match = "claude-*"
name = "search"
tools_include = ["web_search"]
lane = "long"

[[routes]]
match = "claude-*"
name = "no-thinking"
thinking = false
lane = "zai"
model = "glm-4.6"

[[routes]]
match = "claude-opus-*"
name = "bash"
tools_include = ["Bash"]
lane = "long"

[[routes]]
match = "*"
lane = "anthropic"
`;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  ccp = await startCcp({ config: config(upstream.url, upstream.caFile), env: { ZAI_API_KEY: ZAI_KEY, LONG_KEY } });
  configFile = join(ccp.home, "ccp.toml");
});
afterAll(async () => {
  await ccp?.stop();
  await upstream?.close();
});

const messagesOf = async () => (await upstream.requests()).filter((r) => /\/v1\/messages(\?|$)/.test(r.path));
const laneOf = (path: string) => (path.startsWith("/zai/") ? "zai" : path.startsWith("/long/") ? "long" : "anthropic");
/** The usage lines written since `from`, once there are `n` more. */
async function linesSince(from: number, n: number) {
  return (await ccp.usage(from + n)).slice(from).filter((l) => l.op === "messages");
}

/** An answer that calls the Agent tool: Claude Code starts a subagent, whose requests carry x-claude-code-agent-id. */
const agentCall = [
  sseFrame("message_start", {
    type: "message_start",
    message: { id: "msg_agent", type: "message", role: "assistant", model: SONNET, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } },
  }),
  sseFrame("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_agent_1", name: "Agent", input: {} } }),
  sseFrame("content_block_delta", {
    type: "content_block_delta",
    index: 0,
    delta: { type: "input_json_delta", partial_json: JSON.stringify({ description: "check it", prompt: "Say ok.", subagent_type: "general-purpose", run_in_background: false }) },
  }),
  sseFrame("content_block_stop", { type: "content_block_stop", index: 0 }),
  sseFrame("message_delta", { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 20 } }),
  sseFrame("message_stop", { type: "message_stop" }),
].join("");

describe("Claude Code's requests take the routes their conditions say", () => {
  test("thinking on (Claude Code's default) and a short prompt: the catch-all route; thinking off (MAX_THINKING_TOKENS=0): the no-thinking route", async () => {
    await upstream.reset();
    const before = (await ccp.usage()).length;
    expect((await runClaude(ccp.url, { model: SONNET })).json).toMatchObject({ is_error: false, result: "ok" });
    expect((await runClaude(ccp.url, { model: SONNET, env: { MAX_THINKING_TOKENS: "0" } })).json).toMatchObject({ is_error: false, result: "ok" });
    const lines = await linesSince(before, 2);
    expect(lines.map((l) => [l.route, l.route_name, l.lane, l.upstream_model])).toEqual([
      [5, null, "anthropic", SONNET],
      [3, "no-thinking", "zai", "glm-4.6"],
    ]);
    expect((await messagesOf()).map((r) => [laneOf(r.path), r.model])).toEqual([
      ["anthropic", SONNET],
      ["zai", "glm-4.6"],
    ]);
  });

  test("a long prompt: the long-context route (min_input_tokens, ccp's estimate)", async () => {
    await upstream.reset();
    const before = (await ccp.usage()).length;
    const prompt = `Answer ok. ${"All work and no play makes Jack a dull boy. ".repeat(2_300)}`;
    expect((await runClaude(ccp.url, { model: SONNET, prompt })).json).toMatchObject({ is_error: false, result: "ok" });
    const [line] = await linesSince(before, 1);
    expect(line).toMatchObject({ route: 1, route_name: "long-context", lane: "long" });
    const [sent] = await messagesOf();
    expect(laneOf(sent!.path)).toBe("long");
    expect(sent!.headers["x-api-key"]).toBe(LONG_KEY);
  });

  test("a subagent started through the Agent tool: its requests take the subagents route, the main conversation's do not", async () => {
    await upstream.reset();
    await upstream.script([{ kind: "sse", frames: agentCall }], { pathPrefix: "/anthropic/", endpoint: "messages" });
    const before = (await ccp.usage()).length;
    const r = await runClaude(ccp.url, { model: SONNET, prompt: "Use a subagent to check it." });
    expect(r.json).toMatchObject({ is_error: false });
    const sent = await messagesOf();
    const agents = sent.filter((q) => q.headers["x-claude-code-agent-id"]);
    expect(agents.length).toBeGreaterThanOrEqual(1);
    for (const q of agents) expect(laneOf(q.path)).toBe("zai");
    for (const q of sent.filter((q) => !q.headers["x-claude-code-agent-id"])) expect(laneOf(q.path)).toBe("anthropic");
    const lines = await linesSince(before, sent.length);
    expect(lines.filter((l) => l.route === 0)).toHaveLength(agents.length);
    expect(lines.filter((l) => l.route === 0).every((l) => l.route_name === "subagents" && l.lane === "zai")).toBe(true);
    expect(lines.filter((l) => l.route === 5).length).toBe(sent.length - agents.length);
    // Attribution (issue 22): a subagent's lines carry the agent id the upstream saw; the main conversation's carry none.
    const seen = agents.map((q) => q.headers["x-claude-code-agent-id"]!).sort();
    expect(
      lines
        .filter((l) => l.route === 0)
        .map((l) => l.agent_id as string)
        .sort(),
    ).toEqual(seen);
    expect(lines.filter((l) => l.route !== 0).map((l) => l.agent_id)).toEqual(lines.filter((l) => l.route !== 0).map(() => null));
  });

  test("the SDK offering the web_search server tool: the search route", async () => {
    await upstream.reset();
    const before = (await ccp.usage()).length;
    const client = new Anthropic({ baseURL: ccp.url, apiKey: "sk-ant-api03-route-client", maxRetries: 0 });
    const tools = [{ type: "web_search_20250305", name: "web_search", max_uses: 1 }] as unknown as Anthropic.ToolUnion[];
    await client.messages.create({ model: SONNET, max_tokens: 64, thinking: { type: "enabled", budget_tokens: 1024 }, tools, messages: [{ role: "user", content: "news?" }] });
    const [line] = await linesSince(before, 1);
    expect(line).toMatchObject({ route: 2, route_name: "search", lane: "long" });
  });

  test('Claude Code offers Bash on every request: a tools_include = ["Bash"] route takes them; offered only Read (--tools Read), the catch-all', async () => {
    await upstream.reset();
    const before = (await ccp.usage()).length;
    expect((await runClaude(ccp.url, { model: OPUS })).json).toMatchObject({ is_error: false, result: "ok" });
    expect((await runClaude(ccp.url, { model: OPUS, args: ["--tools", "Read"] })).json).toMatchObject({ is_error: false, result: "ok" });
    const offered = (body: string | undefined) => ((JSON.parse(body ?? "{}") as { tools?: { name: string }[] }).tools ?? []).map((t) => t.name);
    expect((await messagesOf()).map((q) => [laneOf(q.path), q.model, offered(q.body).includes("Bash"), offered(q.body).includes("Read")])).toEqual([
      ["long", OPUS, true, true],
      ["anthropic", OPUS, false, true],
    ]);
    const lines = await linesSince(before, 2);
    expect(lines.map((l) => [l.route, l.route_name, l.lane])).toEqual([
      [4, "bash", "long"],
      [5, null, "anthropic"],
    ]);
  });

  test("ccp route explains the same choices", async () => {
    const { env } = cliHome();
    const ask = async (...args: string[]) => {
      const r = await runCli(["route", "-c", configFile, "--json", "--model", SONNET, ...args], { env });
      return { code: r.code, ...(JSON.parse(r.stdout) as { route: { index: number; name: string | null } | null; lane: string | null }) };
    };
    // Claude Code's bare request: ~22 000 tokens by ccp's estimate (README, min_input_tokens).
    expect(await ask("--thinking", "--tokens", "22000")).toMatchObject({ code: 0, route: { index: 5 }, lane: "anthropic" });
    expect(await ask("--tokens", "22000")).toMatchObject({ code: 0, route: { index: 3, name: "no-thinking" }, lane: "zai" });
    expect(await ask("--thinking", "--tokens", "50000")).toMatchObject({ code: 0, route: { index: 1, name: "long-context" }, lane: "long" });
    expect(await ask("--thinking", "--subagent")).toMatchObject({ code: 0, route: { index: 0, name: "subagents" }, lane: "zai" });
    expect(await ask("--thinking", "--tool", "web_search")).toMatchObject({ code: 0, route: { index: 2, name: "search" }, lane: "long" });
    const opus = async (...args: string[]) => ask("--model", OPUS, "--thinking", ...args);
    expect(await opus("--tool", "Bash")).toMatchObject({ code: 0, route: { index: 4, name: "bash" }, lane: "long" });
    expect(await opus("--tool", "Read")).toMatchObject({ code: 0, route: { index: 5 }, lane: "anthropic" });
    const text = await runCli(["route", "-c", configFile, "--model", SONNET, "--subagent"], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('route 0 (subagents): match = "*", subagent = true');
    expect(text.stdout).toContain("lane zai, upstream model claude-sonnet-4-6");
  });
});

describe("a lane picked by name", () => {
  test("claude -p --model zai/glm-4.6 reaches the zai lane with model glm-4.6, routes bypassed", async () => {
    await upstream.reset();
    const before = (await ccp.usage()).length;
    const r = await runClaude(ccp.url, { model: "zai/glm-4.6" });
    expect(r.json).toMatchObject({ is_error: false, result: "ok" });
    const sent = await messagesOf();
    expect(sent.length).toBeGreaterThanOrEqual(1);
    for (const q of sent) expect([laneOf(q.path), q.model, q.headers["x-api-key"]]).toEqual(["zai", "glm-4.6", ZAI_KEY]);
    const [line] = await linesSince(before, 1);
    expect(line).toMatchObject({ model: "zai/glm-4.6", upstream_model: "glm-4.6", lane: "zai", route: null, route_name: null });
  });

  test("a passthrough lane refuses: Claude Code and the SDK get a 400 naming the lanes that can be picked; nothing goes upstream", async () => {
    await upstream.reset();
    const r = await runClaude(ccp.url, { model: "anthropic/claude-sonnet-4-6" });
    expect(r.json).toMatchObject({ is_error: true });
    expect(JSON.stringify(r.json)).toContain("cannot be picked by name");
    const client = new Anthropic({ baseURL: ccp.url, apiKey: "sk-ant-api03-route-client", maxRetries: 0 });
    const refused = await client.messages.create({ model: "anthropic/claude-sonnet-4-6", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect((refused as InstanceType<typeof Anthropic.BadRequestError>).message).toContain("lanes that can be picked by name: zai, long");
    const unknown = await client.messages.create({ model: "nope/x", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect((unknown as Error).message).toMatch(/names no lane \\?"nope\\?"/);
    expect(await messagesOf()).toEqual([]);
  });
});

test("usage --stats --by route groups by the route that matched", async () => {
  const r = await runCli(["usage", "--by", "route", "--json", "-c", configFile], { env: { ...cliHome().env, HOME: ccp.home, CCP_HOME: join(ccp.home, "state") } });
  expect(r.code).toBe(0);
  const keys = (JSON.parse(r.stdout) as { groups: { key: string }[] }).groups.map((g) => g.key);
  expect(keys).toEqual(expect.arrayContaining(["5", "3:no-thinking", "4:bash", "1:long-context", "0:subagents", "2:search", "-"]));
});
