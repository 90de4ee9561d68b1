import { afterAll, describe, expect, test } from "bun:test";
import { inProcessApp, sseAnswer, type InProcessApp } from "../support/scripted.ts";

/**
 * Attack review (q-attack-net): what a client can do through the request path, in process.
 * Lanes: `anthropic` passes the client's credentials on (not pickable by name), `zai` has its
 * own key. Models `claude-opus-*` route to anthropic, everything else to zai. A proxy key and
 * two named clients.
 */
const ZAI_KEY = "zai-lane-key-attack-0123456789abcdef";
const PROXY = "proxy-key-attack-0123456789abcdef";
const ALICE = "alice-key-attack-0123456789abcdef";
const BOB = "bob-key-attack-0123456789abcdefgh";
const OAUTH = "sk-ant-oat01-clients-own-oauth-token-0123456789";
const TOML = `
[clients.alice]
key_env = "ALICE_KEY"
[clients.bob]
key_env = "BOB_KEY"

[lanes.anthropic]
base_url = "https://anthropic.example"
auth = "passthrough"

[lanes.zai]
base_url = "https://zai.example/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
dialect = "zai"
count_tokens = "local"

[[routes]]
match = "claude-opus-*"
lane = "anthropic"

[[routes]]
match = "*"
min_input_tokens = 1
lane = "zai"
`;
const ENV = { ZAI_API_KEY: ZAI_KEY, CCP_PROXY_KEY: PROXY, ALICE_KEY: ALICE, BOB_KEY: BOB };
const apps: InProcessApp[] = [];
function app(): InProcessApp {
  const a = inProcessApp(TOML, () => ({ status: 200, headers: [["content-type", "text/event-stream"]], body: sseAnswer() }), ENV);
  apps.push(a);
  return a;
}
afterAll(() => {
  for (const a of apps) a.parts.cut();
});
const body = (model: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }], ...extra });
const post = (a: InProcessApp, headers: Record<string, string>, b: string, path = "/v1/messages") =>
  a.request(path, { method: "POST", headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers }, body: b });
const sentText = (a: InProcessApp) => a.sent.map((s) => JSON.stringify(s.request.headers)).join("\n");

/** A small seeded generator (mulberry32): the seed is printed. */
function seeded(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = Math.imul(x ^ (x >>> 15), x | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("<lane>/<model> picks (defences)", () => {
  test("no spelling of the passthrough lane's name picks it: the client's OAuth token reaches no upstream, the keyed lane gets only its own key", async () => {
    const seed = Number(process.env.ATTACK_SEED ?? Date.now() % 100_000);
    console.log(`attack-net pick seed ${seed}`);
    const rnd = seeded(seed);
    const fixed = [
      "Anthropic/claude-opus-4-7",
      " anthropic/x",
      "anthropic /x",
      "anthropic%2Fx",
      "ａｎｔｈｒｏｐｉｃ/x",
      "anthropic\u0000/x",
      "anthropic\u200b/x",
      "/anthropic/x",
      "anthropic//x",
      "anthropic/",
      "zai/",
      "zai//m",
      "__proto__/x",
      "constructor/x",
      "hasOwnProperty/x",
      "anthropic\\x",
      "anthropic／x",
    ];
    const parts = ["anthropic", "Anthropic", "ANTHROPIC", "zai", "", " ", "/", "%2F", "\u0130", "\u212a", ".", "*", "?", "claude-opus-4-7"];
    const generated = Array.from({ length: 40 }, () => Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => parts[Math.floor(rnd() * parts.length)]).join(""));
    const a = app();
    for (const model of [...fixed, ...generated]) {
      if (model.startsWith("claude-opus-")) continue; // routed there by the config, as it should be
      const res = await post(a, { "x-ccp-key": PROXY, authorization: `Bearer ${OAUTH}` }, body(model));
      await res.text();
      const to = a.sent.map((s) => s.lane);
      expect({ model, anthropic: to.includes("anthropic") }).toEqual({ model, anthropic: false });
    }
    expect(sentText(a)).not.toContain(OAUTH);
    expect(sentText(a)).not.toContain(PROXY);
  });

  test("the 400 quotes the model in a JSON envelope only; the log line quotes it (no forged line)", async () => {
    const a = app();
    const model = 'anthropic/x\n2099-01-01T00:00:00Z info ccp_forged messages model=x lane=zai status=200 <script>"';
    const res = await post(a, { "x-ccp-key": PROXY }, body(model));
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.headers.get("content-security-policy")).toContain("sandbox");
    expect(JSON.parse(await res.text()).error.type).toBe("invalid_request_error");
    for (const l of a.logs) expect(l).not.toContain("\n");
  });
});

describe("replay headers without the replay key (defences)", () => {
  test("a client with the proxy key or a client key cannot force a lane or a transport, nor forge replay_of: 403, nothing sent", async () => {
    const a = app();
    const forged: Record<string, string>[] = [
      { "x-ccp-lane": "anthropic" },
      { "X-CCP-Transport": "h1" },
      { "x-ccp-replay-of": "ccp_abc" },
      { "x-ccp-replay-key": "", "x-ccp-lane": "anthropic" },
      { "x-ccp-replay-key": a.parts.ctx.replayKey.toUpperCase(), "x-ccp-lane": "anthropic" },
      { "x-ccp-replay-key": ` ${a.parts.ctx.replayKey.slice(0, -1)}`, "x-ccp-lane": "anthropic" },
    ];
    for (const h of forged) {
      const keys: Record<string, string>[] = [{ "x-ccp-key": PROXY }, { "x-ccp-key": ALICE }, { "x-api-key": BOB }];
      for (const key of keys) {
        const res = await post(a, { ...key, ...h }, body("claude-haiku-4-5"));
        expect({ h, status: res.status }).toEqual({ h, status: 403 });
        expect((JSON.parse(await res.text()) as { error: { message: string } }).error.message).not.toContain(a.parts.ctx.replayKey);
      }
    }
    expect(a.sent.length).toBe(0);
    const records = await a.records();
    expect(records.every((r) => r.replay_of === null && r.status === 403)).toBe(true);
  });

  test("the replay key is in no answer, usage line, log line, /status or /metrics, and x-ccp-* never goes upstream", async () => {
    const a = app();
    const key = a.parts.ctx.replayKey;
    const res = await post(a, { "x-ccp-key": PROXY, "x-ccp-replay-key": key, "x-ccp-replay-of": "ccp_abc", "x-ccp-lane": "zai", "x-ccp-transport": "h1" }, body("claude-haiku-4-5"));
    const answer = await res.text();
    expect(res.status).toBe(200);
    const status = await (await a.request("/status", { headers: { "x-ccp-key": PROXY } })).text();
    const metrics = await (await a.request("/metrics", { headers: { "x-ccp-key": PROXY } })).text();
    const lines = JSON.stringify(await a.records());
    expect(lines).toContain('"replay_of":"ccp_abc"');
    for (const t of [answer, status, metrics, lines, a.logs.join("\n"), sentText(a)]) expect(t).not.toContain(key);
    expect(a.sent.flatMap((s) => s.request.headers.map(([n]) => n)).filter((n) => n.startsWith("x-ccp-"))).toEqual([]);
  });
});

describe("named clients and attribution", () => {
  test("session and agent ids: control characters, a key inside, 100 KB: the usage line keeps them clean, bounded and redacted", async () => {
    const a = app();
    const res = await post(
      a,
      { "x-ccp-key": ALICE, "x-claude-code-session-id": `s\u001b[2J\u0085${BOB}\u007fx`, "x-claude-code-agent-id": `${"a".repeat(100_000)}${ZAI_KEY}` },
      body("claude-haiku-4-5"),
    );
    await res.text();
    const [r] = await a.records();
    expect(r!.client).toBe("alice");
    expect(r!.session_id).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(JSON.stringify(r)).not.toContain(BOB);
    expect(JSON.stringify(r)).not.toContain(ZAI_KEY);
    expect(r!.agent_id!.length).toBeLessThanOrEqual(128);
  });

  test("a client key sent twice in x-api-key (an SDK's key plus the same custom header) reaches a passthrough upstream", async () => {
    const a = app();
    const headers = new Headers({ "content-type": "application/json", "anthropic-version": "2023-06-01", "x-ccp-key": ALICE });
    headers.append("x-api-key", ALICE);
    headers.append("x-api-key", ALICE);
    const res = await a.request("/v1/messages", { method: "POST", headers, body: body("claude-opus-4-7") });
    await res.text();
    // SECURITY.md: "the key is removed before the request goes anywhere, so it never reaches an upstream".
    expect(sentText(a)).not.toContain(ALICE);
  });

  test("the proxy key and a client key both present: attributed to one, both removed; 401 forwards nothing", async () => {
    const a = app();
    const res = await post(a, { "x-ccp-key": PROXY, authorization: `Bearer ${ALICE}` }, body("claude-opus-4-7"));
    await res.text();
    const denied = await post(a, { "x-ccp-key": "nope-nope-nope-nope", authorization: `Bearer ${OAUTH}` }, body("claude-opus-4-7"));
    expect(denied.status).toBe(401);
    const text = await denied.text();
    expect(text).not.toContain(OAUTH);
    expect(a.sent.length).toBe(1);
    expect(sentText(a)).not.toContain(ALICE);
    expect(sentText(a)).not.toContain(PROXY);
    expect((await a.records())[0]!.client).toBe("anonymous");
  });
});

describe("route conditions against hostile bodies", () => {
  test("tool_result blocks nested 20,000 deep (a 200 KB body) get 502 'Maximum call stack size exceeded', recorded as a protocol failure, not a 400", async () => {
    const a = app();
    const depth = 20_000;
    const content = `${'[{"type":"tool_result","tool_use_id":"t","content":'.repeat(depth)}"x"${"}]".repeat(depth)}`;
    const b = `{"model":"claude-haiku-4-5","max_tokens":8,"messages":[{"role":"user","content":${content}}]}`;
    const res = await post(a, { "x-ccp-key": PROXY }, b);
    const text = await res.text();
    console.log(`attack-net nested: ${res.status} ${text.slice(0, 300)}`);
    const [r] = await a.records();
    expect({ status: res.status, failure: r!.failure_class }).toEqual({ status: 400, failure: null });
  });

  test("a PNG header claiming 4 billion pixels square and 5,000 images: a bounded estimate, answered quickly", async () => {
    const a = app();
    const png = Buffer.alloc(33);
    png.writeUInt32BE(0x89504e47, 0);
    png.writeUInt32BE(0xffffffff, 16);
    png.writeUInt32BE(0xffffffff, 20);
    const image = { type: "image", source: { type: "base64", media_type: "image/png", data: png.toString("base64") } };
    const b = JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 8, messages: [{ role: "user", content: Array.from({ length: 5_000 }, () => image) }] });
    const t0 = performance.now();
    const res = await post(a, { "x-ccp-key": PROXY }, b, "/v1/messages/count_tokens");
    const answer = (await res.json()) as { input_tokens: number };
    expect(res.status).toBe(200);
    expect(answer.input_tokens).toBeLessThanOrEqual(5_000 * 1_610 + 100);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});
