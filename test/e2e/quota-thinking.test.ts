import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startCcp, type CcpProcess } from "../support/ccp.ts";
import { HAIKU } from "../support/claude.ts";
import { type FakeUpstream, RICH_TOOL_ID, startFakeUpstream, zaiWall } from "../support/fake-upstream/index.ts";
import { toToml } from "../support/toml.ts";

/**
 * A conversation with thinking blocks that moves Z.ai → Anthropic (a quota wall) and back (the
 * reset), through ccp with the SDK as client. The fake upstream signs thinking per provider and
 * refuses a signature it did not make, as Anthropic does: the conversation must go on anyway.
 */
let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});
beforeEach(async () => {
  await upstream.reset();
  await upstream.verifySignatures(true);
});

async function withCcp<T>(fn: (ccp: CcpProcess, client: Anthropic) => Promise<T>): Promise<T> {
  const config = toToml({
    port: 0,
    lanes: {
      zai: { base_url: `${upstream.url}/zai/api/anthropic`, auth: "key", key_env: "ZAI_API_KEY", transport: "h1", dialect: "zai", ca_file: upstream.caFile, quota_url: "" },
      anthropic: { base_url: `${upstream.url}/anthropic`, transport: "h2", ca_file: upstream.caFile },
    } as never,
    routes: [
      { match: "claude-haiku-*", lanes: ["zai", "anthropic"] },
      { match: "*", lane: "anthropic" },
    ] as never,
  });
  const ccp = await startCcp({ config, env: { ZAI_API_KEY: "zai-key-for-thinking-tests" } });
  try {
    return await fn(ccp, new Anthropic({ baseURL: ccp.url, apiKey: "sk-ant-api03-thinking-client", maxRetries: 0 }));
  } finally {
    await ccp.stop();
  }
}

type Message = Anthropic.MessageParam;
const THINKING = { type: "enabled" as const, budget_tokens: 1024 };
const chinaTime = (epochMs: number) =>
  new Date(epochMs + 8 * 3_600_000)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "");
/** The assistant's turn as the client keeps it, then the tool's result: the next request's history. */
const next = (history: Message[], answer: Anthropic.Message): Message[] => [
  ...history,
  { role: "assistant", content: answer.content as Anthropic.ContentBlockParam[] },
  { role: "user", content: [{ type: "tool_result", tool_use_id: RICH_TOOL_ID, content: "18°C, sunny" }] },
];
const refusals = async () => (await upstream.requests()).filter((r) => r.behaviour === "invalid_signature" || r.behaviour === "missing_thinking").length;
const lanesSeen = async () => (await upstream.requests()).filter((r) => r.path.includes("/v1/messages")).map((r) => (r.path.startsWith("/zai/") ? "zai" : "anthropic"));

describe("thinking across providers", () => {
  test("Z.ai → Anthropic (a wall) → Z.ai (the reset): every turn succeeds, no provider is shown another's signature", async () => {
    await upstream.script([{ kind: "rich" }], { pathPrefix: "/zai/", endpoint: "messages" });
    await withCcp(async (ccp, client) => {
      let history: Message[] = [{ role: "user", content: "What is the weather in San Francisco?" }];
      // Turn 1 on Z.ai: a thinking block Z.ai signed, and a tool call (streamed).
      const first = await client.messages.stream({ model: HAIKU, max_tokens: 2048, thinking: THINKING, messages: history }).finalMessage();
      expect(first.content.map((b) => b.type)).toEqual(["thinking", "text", "tool_use"]);
      history = next(history, first);

      // Turn 2: Z.ai is walled for a few seconds; Anthropic takes it, and must not see Z.ai's signature.
      const resetsAt = Math.ceil((Date.now() + 6_000) / 1000) * 1000;
      await upstream.script([zaiWall("1308", "code", chinaTime(resetsAt))], { pathPrefix: "/zai/", endpoint: "messages" });
      await upstream.script([{ kind: "rich", redacted: true }], { pathPrefix: "/anthropic/", endpoint: "messages" });
      const second = await client.messages.create({ model: HAIKU, max_tokens: 2048, thinking: THINKING, messages: history });
      expect(second.content.map((b) => b.type)).toEqual(["thinking", "redacted_thinking", "text", "tool_use"]);
      expect(await refusals()).toBe(0);
      history = next(history, second);

      // Turn 3, after the reset: back on Z.ai, which must not see Anthropic's signatures either.
      await Bun.sleep(Math.max(0, resetsAt - Date.now() + 500));
      await upstream.script([{ kind: "rich" }], { pathPrefix: "/zai/", endpoint: "messages" });
      const third = await client.messages.create({ model: HAIKU, max_tokens: 2048, thinking: THINKING, messages: history });
      expect(third.content.at(-1)?.type).toBe("tool_use");
      expect(await refusals()).toBe(0);
      expect(await lanesSeen()).toEqual(["zai", "zai", "anthropic", "zai"]);
      const lines = (await ccp.usage(3)).filter((l) => l.op === "messages");
      expect(lines.map((l) => [l.lane, l.status, l.reroute_reason])).toEqual([
        ["zai", 200, null],
        ["anthropic", 200, "quota_wall"],
        ["zai", 200, null],
      ]);
    });
  }, 60_000);

  test("a signature ccp never saw (from before it started) refused by Anthropic: sent once more without thinking blocks, and the turn succeeds", async () => {
    // Turn 1 through a first ccp, which then stops: the second knows nothing of who signed what.
    await upstream.script([{ kind: "rich" }], { pathPrefix: "/zai/", endpoint: "messages" });
    const history = await withCcp(async (_ccp, client) => {
      const h: Message[] = [{ role: "user", content: "What is the weather in San Francisco?" }];
      return next(h, await client.messages.create({ model: HAIKU, max_tokens: 2048, thinking: THINKING, messages: h }));
    });
    await withCcp(async (ccp, client) => {
      // Sonnet routes to Anthropic only: the conversation moves there, Z.ai's block unknown to this ccp.
      const answer = await client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 2048, thinking: THINKING, messages: history });
      expect(answer.content.at(-1)?.type).toBe("text");
      expect(await refusals()).toBe(1);
      const [line] = (await ccp.usage(1)).filter((l) => l.op === "messages");
      expect((line!.attempts as { status: number }[]).map((a) => a.status)).toEqual([400, 200]);
      expect(ccp.output()).toContain("refused a thinking block's signature");
    });
  }, 60_000);
});
