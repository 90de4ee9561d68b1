import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { laneConfig, startCcp, type CcpProcess } from "../support/ccp.ts";
import { RICH_SIGNATURE, RICH_TEXT, RICH_THINKING, RICH_TOOL_INPUT, RICH_TOOL_NAME, richFrames, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";

const MODEL = "claude-sonnet-4-6";
let upstream: FakeUpstream;
let ccp: CcpProcess;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile, { anthropic: "h2" }), env: { ZAI_API_KEY: "z" } });
});
afterAll(async () => {
  await ccp?.stop();
  await upstream?.close();
});

const request = { model: MODEL, max_tokens: 1024, messages: [{ role: "user" as const, content: "What's the weather?" }] };

test("the SDK's streaming helper consumes a proxied thinking + text + tool_use stream", async () => {
  await upstream.reset();
  await upstream.script([{ kind: "rich" }]);
  const client = new Anthropic({ baseURL: ccp.url, apiKey: "sk-ant-api03-sdk-test", maxRetries: 0 });
  const stream = client.messages.stream(request);
  const jsonParts: string[] = [];
  stream.on("inputJson", (partial) => jsonParts.push(partial));
  const message = await stream.finalMessage();
  expect(message.stop_reason).toBe("tool_use");
  expect(message.content).toHaveLength(3);
  expect(message.content).toMatchObject([
    { type: "thinking", thinking: RICH_THINKING, signature: RICH_SIGNATURE },
    { type: "text", text: RICH_TEXT },
    { type: "tool_use", name: RICH_TOOL_NAME, input: RICH_TOOL_INPUT },
  ]);
  // input_json_delta pieces arrive in order and whole: together they are the upstream's JSON text.
  expect(jsonParts.join("")).toBe('{"location": "San Francisco, CA", "unit": "celsius"}');
});

test("the proxied bytes are identical to what the upstream sent", async () => {
  await upstream.reset();
  await upstream.script([{ kind: "rich" }]);
  const res = await fetch(`${ccp.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ ...request, stream: true }),
  });
  expect(new Uint8Array(await res.arrayBuffer())).toEqual(new TextEncoder().encode(richFrames(MODEL).join("")));
});
