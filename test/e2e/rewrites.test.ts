import { afterAll, beforeAll, expect, test } from "bun:test";
import { laneConfig } from "../support/ccp.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { startInProcess, type InProcessCcp } from "../support/in-process.ts";

/** What each dialect's upstream actually receives. */
let upstream: FakeUpstream;
let ccp: InProcessCcp;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  ccp = startInProcess(laneConfig(upstream.url, upstream.caFile), { ZAI_API_KEY: "zai-key" });
});
afterAll(async () => {
  await ccp?.stop(100);
  await upstream?.close();
});

const conversation = (model: string) =>
  JSON.stringify({
    model,
    max_tokens: 64,
    stream: true,
    system: [
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.330.a1; cc_entrypoint=cli; cch=5ab9e;" },
      { type: "text", text: "You are Claude Code." },
    ],
    messages: [
      { role: "user", content: "hello" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "ponder", signature: "EqQBCkYsigsig" },
          { type: "text", text: "hi" },
        ],
      },
      { role: "system", content: "The user is on Linux." },
      { role: "user", content: "thanks" },
    ],
  });

const send = (body: string, path = "/v1/messages?beta=true") => fetch(`${ccp.url}${path}`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": "client" }, body });

test("the anthropic lane receives the client's bytes untouched", async () => {
  await upstream.reset();
  const body = conversation("claude-sonnet-4-6");
  await (await send(body)).text();
  const [seen] = await upstream.requests();
  expect(seen!.body).toBe(body);
});

test("the zai lane gets the model map, no signed thinking, no inline system role, no cch value", async () => {
  await upstream.reset();
  await (await send(conversation("claude-haiku-4-5"))).text();
  const [seen] = await upstream.requests();
  const body = JSON.parse(seen!.body!);
  expect(body.model).toBe("glm-4.5-air");
  expect(seen!.body).not.toContain("signature");
  expect(body.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "user"]);
  expect(JSON.stringify(body.messages[2])).toContain("The user is on Linux.");
  expect(body.system[0].text).toBe("x-anthropic-billing-header: cc_version=2.1.330.a1; cc_entrypoint=cli;");
});

test("count_tokens on a lane without the endpoint is answered locally and labelled as an estimate", async () => {
  await upstream.reset();
  const res = await send(conversation("claude-haiku-4-5"), "/v1/messages/count_tokens?beta=true");
  expect(res.headers.get("x-ccp-estimate")).toBe("true");
  const { input_tokens } = (await res.json()) as { input_tokens: number };
  expect(input_tokens).toBeGreaterThan(20);
  expect((await upstream.requests()).length).toBe(0);
  const forwarded = await send(conversation("claude-sonnet-4-6"), "/v1/messages/count_tokens?beta=true");
  expect(await forwarded.json()).toEqual({ input_tokens: 42 });
});

test("an upstream error that echoes the lane's key reaches the client with the key redacted", async () => {
  await upstream.reset();
  await upstream.script([{ kind: "status", status: 401, body: { type: "error", error: { type: "authentication_error", message: "invalid x-api-key zai-key" } } }], { pathPrefix: "/zai/" });
  const res = await send(conversation("claude-haiku-4-5"));
  expect(res.status).toBe(401);
  const text = await res.text();
  expect(text).not.toContain("zai-key");
  expect(text).toContain("[redacted]");
});
