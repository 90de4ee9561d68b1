import { describe, expect, test } from "bun:test";
import type { Lane } from "../../src/config/config.ts";
import { inProcessApp, sseAnswer, type Step } from "../support/scripted.ts";

/**
 * A conversation moving between providers, in process: thinking blocks one provider signed never
 * reach the other (ccp remembers who signed what it passed on), and a signature refused that ccp
 * could not place is recovered from by sending the request again without thinking blocks.
 */
const CONFIG = `
[lanes.anthropic]
base_url = "https://anthropic.example"
transport = "h1"

[lanes.other]
base_url = "https://other.example"
transport = "h1"

[[routes]]
match = "claude-haiku-*"
lanes = ["other", "anthropic"]

[[routes]]
match = "*"
lane = "anthropic"
`;

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
/** A streamed answer with a signed thinking block, then a tool call (Claude Code's tool loop). */
const thinkingAnswer = (signature: string): Step => ({
  status: 200,
  headers: [["content-type", "text/event-stream"]],
  body: [
    frame("message_start", { type: "message_start", message: { id: "m", type: "message", role: "assistant", model: "m", content: [], usage: { input_tokens: 1, output_tokens: 1 } } }),
    frame("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } }),
    frame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "hmm" } }),
    frame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature } }),
    frame("content_block_stop", { type: "content_block_stop", index: 0 }),
    frame("content_block_start", { type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "t1", name: "f", input: {} } }),
    frame("content_block_stop", { type: "content_block_stop", index: 1 }),
    frame("message_delta", { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 5 } }),
    frame("message_stop", { type: "message_stop" }),
  ],
});
const ok: Step = { status: 200, headers: [["content-type", "text/event-stream"]], body: sseAnswer("done") };
const wall: Step = { status: 429, body: JSON.stringify({ type: "error", error: { type: "1310", message: "Weekly/Monthly Limit Exhausted. Your limit will reset at 2099-01-01 00:00:00" } }) };
const followUp = (model: string, signature: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", "x-api-key": "client-key" },
  body: JSON.stringify({
    model,
    max_tokens: 64,
    stream: true,
    thinking: { type: "enabled", budget_tokens: 1024 },
    messages: [
      { role: "user", content: "q" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hmm", signature },
          { type: "tool_use", id: "t1", name: "f", input: {} },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "r" }] },
    ],
  }),
});
const sentBody = (a: ReturnType<typeof inProcessApp>, i: number) => JSON.parse(new TextDecoder().decode(a.sent[i]!.request.body ?? new Uint8Array()) || "{}") as Record<string, unknown>;

describe("thinking across providers", () => {
  test("a block signed on one lane is dropped before the other (Anthropic) lane sees it; thinking goes off for that open tool loop", async () => {
    const queues: Record<string, Step[]> = { other: [thinkingAnswer("sig-by-other"), wall], anthropic: [ok] };
    const a = inProcessApp(CONFIG, (lane: Lane) => queues[lane.name]!.shift() ?? ok);
    await (await a.request("/v1/messages", followUp("claude-haiku-4-5", "client-made"))).text();
    const res = await a.request("/v1/messages", followUp("claude-haiku-4-5", "sig-by-other"));
    expect(res.status).toBe(200);
    await res.text();
    expect(a.sent.map((s) => s.lane)).toEqual(["other", "other", "anthropic"]);
    const toAnthropic = sentBody(a, 2);
    expect(JSON.stringify(toAnthropic)).not.toContain("sig-by-other");
    expect(toAnthropic.thinking).toBeUndefined();
    // The lane that signed it still gets it.
    expect(new TextDecoder().decode(a.sent[1]!.request.body!)).toContain("sig-by-other");
  });

  test("an Anthropic lane refusing a signature ccp never saw: sent again once without thinking blocks, and the answer goes on", async () => {
    const refused: Step = { status: 400, body: JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "messages.1.content.0: Invalid `signature` in `thinking` block" } }) };
    const steps = [refused, ok];
    const a = inProcessApp(CONFIG, () => steps.shift() ?? ok);
    const res = await a.request("/v1/messages", followUp("claude-sonnet-4-6", "from-before-ccp"));
    expect(res.status).toBe(200);
    await res.text();
    expect(a.sent).toHaveLength(2);
    expect(new TextDecoder().decode(a.sent[0]!.request.body!)).toContain("from-before-ccp");
    expect(JSON.stringify(sentBody(a, 1))).not.toContain("from-before-ccp");
    const [record] = await a.records();
    expect(record!.attempts.map((t) => t.status)).toEqual([400, 200]);
    expect(a.logs.some((l) => l.includes("refused a thinking block's signature"))).toBe(true);
  });

  test("any other 400 is passed on at once, not sent again", async () => {
    const refused: Step = { status: 400, body: JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "max_tokens: too large" } }) };
    const a = inProcessApp(CONFIG, () => refused);
    const res = await a.request("/v1/messages", followUp("claude-sonnet-4-6", "x"));
    expect(res.status).toBe(400);
    expect(a.sent).toHaveLength(1);
  });

  test("a conversation a route condition moves (min_input_tokens: it grew long) reaches the other lane without the first lane's signatures", async () => {
    const byLength = `
[lanes.anthropic]
base_url = "https://anthropic.example"
transport = "h1"

[lanes.long]
base_url = "https://long.example"
transport = "h1"
dialect = "zai"
auth = "key"
key_env = "LONG_KEY"

[[routes]]
match = "*"
name = "long-context"
min_input_tokens = 2000
lane = "long"

[[routes]]
match = "*"
lane = "anthropic"
`;
    const queues: Record<string, Step[]> = { anthropic: [thinkingAnswer("sig-by-anthropic")], long: [ok] };
    const a = inProcessApp(byLength, (lane: Lane) => queues[lane.name]!.shift() ?? ok, { LONG_KEY: "long-lane-key" });
    const short = { model: "claude-sonnet-4-6", max_tokens: 64, stream: true, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [{ role: "user", content: "q" }] };
    await (await a.request("/v1/messages", { method: "POST", headers: { "content-type": "application/json", "x-api-key": "client-key" }, body: JSON.stringify(short) })).text();
    const grown = JSON.parse(followUp("claude-sonnet-4-6", "sig-by-anthropic").body) as { messages: { content: unknown }[] };
    grown.messages[2]!.content = [{ type: "tool_result", tool_use_id: "t1", content: "r".repeat(20_000) }];
    const res = await a.request("/v1/messages", { ...followUp("claude-sonnet-4-6", "sig-by-anthropic"), body: JSON.stringify(grown) });
    expect(res.status).toBe(200);
    await res.text();
    expect(a.sent.map((s) => s.lane)).toEqual(["anthropic", "long"]);
    expect(JSON.stringify(sentBody(a, 1))).not.toContain("sig-by-anthropic");
    const records = await a.records();
    expect(records.map((r) => [r.lane, r.route, r.route_name])).toEqual([
      ["anthropic", 1, null],
      ["long", 0, "long-context"],
    ]);
  });
});
