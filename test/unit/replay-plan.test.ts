import { describe, expect, test } from "bun:test";
import { answerText, describeCredentials, parseCapture, planReplay, type Captured } from "../../src/ops/replay.ts";
import { replayControl } from "../../src/server/replay-control.ts";

const lanes = { anthropic: { auth: "passthrough" as const, key_env: undefined }, zai: { auth: "key" as const, key_env: "ZAI_API_KEY" } };
const captured = (o: Partial<Captured> = {}): Captured => ({
  rid: "ccp_abc",
  record: { op: "messages", lane: "anthropic", header_mode: "x-api-key", attempts: [{ lane: "anthropic", protocol: "h2", outcome: "ok", status: 200, ms: 1, wait_ms: 0, code: null }] },
  headers: {
    host: "127.0.0.1:8082",
    "content-length": "10",
    "x-api-key": "[redacted]",
    "anthropic-beta": "a,b",
    "x-claude-code-agent-id": "ag1",
    cookie: "[redacted]",
    "x-ccp-key": "[redacted]",
    "x-custom-token": "[redacted]",
  },
  body: '{"model":"m"}',
  truncated: false,
  response: { body: "", truncated: false },
  ...o,
});

describe("what ccp replay sends", () => {
  test("the captured headers but framing, credentials, redacted values and ccp's own; to the lane it first went to", () => {
    const plan = planReplay(captured(), { apiKeyEnv: "MY_KEY" }, lanes);
    expect(plan).toEqual({
      path: "/v1/messages",
      headers: { "anthropic-beta": "a,b", "x-claude-code-agent-id": "ag1", "content-type": "application/json" },
      body: '{"model":"m"}',
      lane: "anthropic",
      credentials: { kind: "caller", variable: "MY_KEY", header: "x-api-key" },
    });
  });

  test("a key lane uses its own key (a caller's variable is said to be unused); a passthrough lane needs --api-key-env", () => {
    const toZai = planReplay(captured(), { lane: "zai", apiKeyEnv: "MY_KEY" }, lanes);
    expect(toZai).toMatchObject({ lane: "zai", credentials: { kind: "lane-key", lane: "zai", variable: "ZAI_API_KEY", ignored: "MY_KEY" } });
    if ("error" in toZai) throw new Error("planned");
    expect(describeCredentials(toZai.credentials)).toBe("lane zai's own key ($ZAI_API_KEY), which ccp puts in (your $MY_KEY is not sent: the lane replaces client credentials)");
    expect(planReplay(captured(), {}, lanes)).toMatchObject({ code: 2, error: expect.stringContaining("captures hold none") });
    const bearer = planReplay(captured({ record: { ...captured().record, header_mode: "authorization" } }), { apiKeyEnv: "T" }, lanes);
    expect(bearer).toMatchObject({ credentials: { header: "authorization" } });
  });

  test("what cannot be sent again is refused: a body cut short, no body, /v1/models, an unknown lane", () => {
    expect(planReplay(captured({ truncated: true }), { lane: "zai" }, lanes)).toMatchObject({ code: 1, error: expect.stringContaining("only part of its request body") });
    expect(planReplay(captured({ body: null }), { lane: "zai" }, lanes)).toMatchObject({ code: 1 });
    expect(planReplay(captured({ record: { op: "models" } }), { lane: "zai" }, lanes)).toMatchObject({ code: 1, error: expect.stringContaining("models request") });
    expect(planReplay(captured(), { lane: "nope" }, lanes)).toMatchObject({ code: 2, error: 'no lane "nope" in this config' });
  });

  test("a capture file read back; anything else is said to be none", () => {
    const file = JSON.stringify({ rid: "ccp_x", record: { lane: "zai" }, request: { headers: { a: "b" }, body: "{}", truncated: false }, response: { body: "data: {}", truncated: true } });
    expect(parseCapture(file)).toMatchObject({ rid: "ccp_x", headers: { a: "b" }, body: "{}", truncated: false, response: { truncated: true } });
    expect(parseCapture("nope")).toEqual({ error: "it is not a capture file (not JSON)" });
    expect(parseCapture("{}")).toEqual({ error: "it is not a capture file" });
  });

  test("an answer's text: a stream's text deltas, a message's text blocks, an error's message", () => {
    const sse = [
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"he"}}',
      'data: {"delta":{"type":"text_delta","text":"llo"}}',
      "data: [DONE]",
    ].join("\n\n");
    expect(answerText(sse)).toBe("hello");
    expect(answerText('{"content":[{"type":"text","text":"a"},{"type":"tool_use"},{"type":"text","text":"b"}]}')).toBe("ab");
    expect(answerText('{"type":"error","error":{"type":"overloaded_error","message":"busy"}}')).toBe("busy");
    expect(answerText("<html>")).toBeNull();
  });
});

describe("the replay headers on the server", () => {
  const config = { lanes: { zai: {} as never } };
  test("none: an ordinary request; all removed from the request, the key first", () => {
    expect(replayControl(new Headers({ "x-api-key": "k" }), "secret-key", config)).toEqual({ ok: true, control: undefined });
    const h = new Headers({ "x-ccp-replay-key": "secret-key", "x-ccp-replay-of": "ccp_abc", "x-ccp-lane": "zai", "x-ccp-transport": "h2" });
    expect(replayControl(h, "secret-key", config)).toEqual({ ok: true, control: { replayOf: "ccp_abc", lane: "zai", transport: "h2" } });
    expect([...h.keys()]).toEqual([]);
  });

  test("without the key, or with a wrong one: 403; with it, a bad rid, lane or transport: 400", () => {
    expect(replayControl(new Headers({ "x-ccp-lane": "zai" }), "secret-key", config)).toMatchObject({ ok: false, status: 403 });
    expect(replayControl(new Headers({ "x-ccp-replay-key": "secret-kez", "x-ccp-replay-of": "ccp_abc" }), "secret-key", config)).toMatchObject({ ok: false, status: 403 });
    const withKey = (h: Record<string, string>) => replayControl(new Headers({ "x-ccp-replay-key": "secret-key", "x-ccp-replay-of": "ccp_abc", ...h }), "secret-key", config);
    expect(withKey({ "x-ccp-replay-of": "ccp_a status=200" })).toMatchObject({ status: 400 });
    expect(withKey({ "x-ccp-lane": "nope" })).toMatchObject({ status: 400, message: expect.stringContaining('no lane "nope"') });
    expect(withKey({ "x-ccp-transport": "h3" })).toMatchObject({ status: 400 });
  });
});
