import { describe, expect, test } from "bun:test";
import { inProcessApp, sseAnswer, stepsInOrder, type Step } from "../support/scripted.ts";

/**
 * The request path in process: createApp(...).fetch(request), no port, the upstream played by
 * scripted transports. For the many behaviours that need no socket.
 */
const CONFIG = `
[lanes.anthropic]
base_url = "https://anthropic.example"
transport = "h2"
retry = { attempts = 3, base_ms = 1, cap_ms = 2 }

[lanes.zai]
base_url = "https://zai.example/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
transport = "h1"
dialect = "zai"
models = { "claude-haiku-*" = "glm-4.5-air" }
retry = { attempts = 3, base_ms = 1, cap_ms = 2 }

[[routes]]
match = "claude-haiku-*"
lane = "zai"

[[routes]]
match = "*"
lane = "anthropic"
`;

const ok: Step = {
  status: 200,
  headers: [
    ["content-type", "text/event-stream"],
    ["request-id", "req_1"],
  ],
  body: sseAnswer("hello"),
};
const json = (model: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }], ...extra });
const post = (body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body,
});

describe("the app in process", () => {
  test("a stream is routed, rewritten for its lane, credentialed, and passed on whole", async () => {
    const a = inProcessApp(CONFIG, stepsInOrder([ok]), { ZAI_API_KEY: "zai-lane-key-123456" });
    const res = await a.request("/v1/messages?beta=true", post(json("claude-haiku-4-5"), { "x-api-key": "client-key" }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(sseAnswer("hello").join(""));
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const [sent] = a.sent;
    expect(sent).toMatchObject({ lane: "zai", protocol: "h1" });
    expect(sent!.request.url.href).toBe("https://zai.example/api/anthropic/v1/messages?beta=true");
    expect(JSON.parse(new TextDecoder().decode(sent!.request.body)).model).toBe("glm-4.5-air");
    expect(sent!.request.headers).toContainEqual(["x-api-key", "zai-lane-key-123456"]);
    expect(sent!.request.headers.filter(([k]) => k === "x-api-key")).toHaveLength(1);
  });

  test("a 529 then a stream: retried once, the answer whole, both attempts in the log", async () => {
    const a = inProcessApp(CONFIG, stepsInOrder([{ status: 529, headers: [["content-type", "application/json"]], body: '{"type":"error","error":{"type":"overloaded_error","message":"busy"}}' }, ok]));
    const res = await a.request("/v1/messages", post(json("claude-sonnet-4-5")));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("message_stop");
    expect(a.sent).toHaveLength(2);
    expect(a.logs.some((l) => /attempt 1 lane=anthropic protocol=h2 http_status/.test(l))).toBe(true);
  });

  test.each([
    ["no such endpoint", "/v1/complete", post("{}"), 404],
    ["a wrong method", "/v1/messages", { method: "GET" }, 405],
    ["no content type", "/v1/messages", { method: "POST", body: json("m") }, 415],
    ["bad JSON", "/v1/messages", post("{"), 400],
    ["a web page's origin", "/v1/messages", post(json("m"), { origin: "http://evil.example" }), 403],
  ] as [string, string, RequestInit, number][])("%s → %d, nothing sent upstream", async (_name, path, init, status) => {
    const a = inProcessApp(CONFIG, stepsInOrder([ok]));
    const res = await a.request(path, init);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { type: string }).type).toBe("error");
    expect(a.sent).toHaveLength(0);
  });

  test("a key lane without its key: an answer saying which variable to set, nothing sent", async () => {
    const a = inProcessApp(CONFIG, stepsInOrder([ok]));
    const res = await a.request("/v1/messages", post(json("claude-haiku-4-5")));
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).toContain("ZAI_API_KEY");
    expect(a.sent).toHaveLength(0);
  });

  test("count_tokens on a zai lane is a local estimate; on the anthropic lane it is forwarded", async () => {
    const a = inProcessApp(CONFIG, stepsInOrder([{ status: 200, headers: [["content-type", "application/json"]], body: '{"input_tokens":42}' }]), {
      ZAI_API_KEY: "zai-lane-key-123456",
    });
    const local = await a.request("/v1/messages/count_tokens", post(json("claude-haiku-4-5")));
    expect(local.headers.get("x-ccp-estimate")).toBe("true");
    expect(a.sent).toHaveLength(0);
    const upstream = await a.request("/v1/messages/count_tokens", post(json("claude-sonnet-4-5")));
    expect(await upstream.json()).toEqual({ input_tokens: 42 });
    expect(a.sent).toHaveLength(1);
  });

  test("campaign B1: an upstream error status whose body is not an error envelope gets ccp's, with the same status", async () => {
    const a = inProcessApp(CONFIG, stepsInOrder([{ status: 401, headers: [["content-type", "text/html"]], body: "<html>denied</html>" }]));
    const res = await a.request("/v1/messages", post(json("claude-sonnet-4-5")));
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    expect(body.error.message).toContain("text/html");
  });
});
