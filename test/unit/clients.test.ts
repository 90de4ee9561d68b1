import { describe, expect, test } from "bun:test";
import { exposureProblem, makeAccess, makeClient } from "../../src/config/access.ts";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { AccessGate } from "../../src/server/access.ts";
import { attribution, cleanId, MAX_ID_CHARS } from "../../src/usage/attribution.ts";
import { computeStats, type StatInput } from "../../src/usage/stats.ts";
import { writeConfig } from "../support/config-file.ts";
import { prng } from "../support/usage-records.ts";

/** Named clients (issue 22): one key per person or machine, the proxy key as the anonymous client. */
const PROXY = "proxy-key-0123456789abcdef";
const KEYS = { alice: "alice-key-0123456789abcdef", bob: "bob-key-0123456789abcdef00", carol: "carol-key-0123456789abcdef" } as const;
const clients = () => Object.entries(KEYS).map(([name, key]) => makeClient(name, `${name.toUpperCase()}_KEY`, key));
const gate = (proxy: string | null = PROXY) => new AccessGate(makeAccess("CCP_PROXY_KEY", false, proxy ?? undefined, clients()));

describe("the access gate with named clients", () => {
  const PLACES = [
    (k: string) => ({ "x-ccp-key": k }),
    (k: string) => ({ "x-api-key": k }),
    (k: string) => ({ authorization: `Bearer ${k}` }),
    (k: string) => ({ "x-ccp-key": k, "x-api-key": "sk-ant-api03-own-client-key" }),
  ];

  test("generated requests (seeded): each key lets in its own client, wherever it is sent, and is removed; others are refused", () => {
    const seed = Number(process.env.SEED ?? Date.now() % 100_000);
    const rnd = prng(seed);
    const g = gate();
    const who = [...Object.entries(KEYS), ["anonymous", PROXY] as const];
    for (let i = 0; i < 300; i++) {
      const [name, key] = who[Math.floor(rnd() * who.length)]!;
      const wrong = rnd() < 0.25;
      const presented = wrong ? `${key.slice(0, -1)}${key.endsWith("x") ? "y" : "x"}` : key;
      const headers = new Headers(PLACES[Math.floor(rnd() * PLACES.length)]!(presented));
      const result = g.check(headers, "/v1/messages");
      const context = `seed ${seed}, case ${i}: ${name} ${wrong ? "(wrong key)" : ""}`;
      if (wrong) expect(result, context).toEqual({ ok: false, reason: "wrong" });
      else {
        expect(result, context).toEqual({ ok: true, client: name });
        expect([...headers.values()].join(" "), context).not.toContain(key);
      }
    }
  });

  test("without the proxy key only the clients' keys count; with no key at all nobody is named", () => {
    expect(gate(null).check(new Headers({ "x-ccp-key": PROXY }), "/status")).toEqual({ ok: false, reason: "wrong" });
    expect(gate(null).check(new Headers({ "x-ccp-key": KEYS.bob }), "/status")).toEqual({ ok: true, client: "bob" });
    expect(gate(null).check(new Headers(), "/healthz")).toEqual({ ok: true });
    expect(new AccessGate(makeAccess("CCP_PROXY_KEY", false, undefined)).check(new Headers(), "/v1/messages")).toEqual({ ok: true });
  });

  test("no serialisation of the access settings shows a client's key", () => {
    const access = makeAccess("CCP_PROXY_KEY", false, undefined, clients());
    expect(access.key_set).toBe(true);
    expect(access.clients[0]!.key).toBe(KEYS.alice);
    for (const text of [JSON.stringify(access), JSON.stringify({ ...access }), Bun.inspect(access), JSON.stringify(access.clients)]) {
      for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
    }
  });
});

describe("starting with named clients", () => {
  const access = (cs = clients(), proxy?: string) => makeAccess("CCP_PROXY_KEY", false, proxy, cs);
  test("clients' keys are keys: a LAN address is allowed without the proxy key", () => {
    expect(exposureProblem({ host: "0.0.0.0", access: access() })).toBeUndefined();
  });

  test("a client without its key, with a short one or with another's key: refused, naming the client and the variable, never the key", () => {
    const unset = exposureProblem({ host: "127.0.0.1", access: access([makeClient("dave", "DAVE_KEY", undefined)]) });
    expect(unset?.message).toBe('client "dave" needs its key in $DAVE_KEY, which is not set');
    expect(exposureProblem({ host: "127.0.0.1", access: access([makeClient("dave", "DAVE_KEY", "short")]) })?.message).toContain("too short");
    const shared = exposureProblem({ host: "127.0.0.1", access: access([...clients(), makeClient("dave", "DAVE_KEY", KEYS.alice)]) });
    expect(shared?.message).toBe('client "dave" has the same key ($DAVE_KEY) as client "alice"');
    const asProxy = exposureProblem({ host: "127.0.0.1", access: access([makeClient("dave", "DAVE_KEY", PROXY)], PROXY) });
    expect(asProxy?.message).toContain("the proxy key ($CCP_PROXY_KEY)");
    for (const p of [unset, shared, asProxy]) expect(JSON.stringify(p)).not.toContain(PROXY);
  });

  const lanes = '[lanes.a]\nbase_url = "https://a.example"\n[[routes]]\nmatch = "*"\nlane = "a"\n';
  test("config: [clients.<name>] key_env; names are checked, anonymous and none reserved", () => {
    const file = writeConfig(`[clients.alice]\nkey_env = "ALICE_KEY"\n[clients.build-box_2]\nkey_env = "BOX_KEY"\n${lanes}`);
    const c = loadConfig({ file, env: { HOME: "/h", ALICE_KEY: KEYS.alice } });
    expect(c.access.clients.map((x) => [x.name, x.key_env, x.key])).toEqual([
      ["alice", "ALICE_KEY", KEYS.alice],
      ["build-box_2", "BOX_KEY", undefined],
    ]);
    for (const [name, why] of [
      ["anonymous", "reserved"],
      ["none", "reserved"],
      ["Alice", "lower-case"],
    ]) {
      const bad = writeConfig(`[clients.${name}]\nkey_env = "K"\n${lanes}`);
      expect(() => loadConfig({ file: bad, env: { HOME: "/h" } })).toThrow(why!);
    }
    expect(() => loadConfig({ file: writeConfig(`[clients.a]\nkey = "inline"\n${lanes}`), env: { HOME: "/h" } })).toThrow(/clients\.a\.key: unknown key/);
  });

  test("instance: $CCP_INSTANCE, else the config's, else the host name; a bad name is refused", () => {
    const file = writeConfig(`instance = "box-a"\n${lanes}`);
    expect(loadConfig({ file, env: { HOME: "/h" } }).instance).toBe("box-a");
    expect(loadConfig({ file, env: { HOME: "/h", CCP_INSTANCE: "box-b" } }).instance).toBe("box-b");
    expect(loadConfig({ file: writeConfig(lanes), env: { HOME: "/h" } }).instance).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
    expect(() => loadConfig({ file, env: { HOME: "/h", CCP_INSTANCE: "a b\n" } })).toThrow(ConfigError);
    expect(() => loadConfig({ file: writeConfig(`instance = "../x"\n${lanes}`), env: { HOME: "/h" } })).toThrow(/instance/);
  });
});

describe("attribution from Claude Code's headers", () => {
  const same = (s: string) => s;
  test("session and agent ids are recorded as sent, when sent", () => {
    const h = new Headers({ "X-Claude-Code-Session-Id": "0b6f1c1e-7d3a-4b7e-9b1a-2f3c4d5e6f70", "x-claude-code-agent-id": "agent-7" });
    expect(attribution(h, same)).toEqual({ session_id: "0b6f1c1e-7d3a-4b7e-9b1a-2f3c4d5e6f70", agent_id: "agent-7" });
    expect(attribution(new Headers(), same)).toEqual({ session_id: null, agent_id: null });
  });

  test("control characters are stripped, the length bounded, secrets redacted, an empty id is none", () => {
    expect(cleanId("a\u0000b\r\nc\u2028d", same)).toBe("abcd");
    expect(cleanId("x".repeat(10_000), same)?.length).toBe(MAX_ID_CHARS);
    expect(cleanId("id-with-secret-123", (s) => s.replace("secret-123", "[redacted]"))).toBe("id-with-[redacted]");
    expect(cleanId("\u0001\u0002", same)).toBeNull();
    expect(cleanId("", same)).toBeNull();
  });
});

describe("usage --stats --by client, session, instance (pure)", () => {
  const row = (o: Partial<StatInput>): StatInput => ({
    ts_ms: 0,
    lane: "zai",
    model: "m",
    status: 200,
    h2: false,
    ttft_ms: null,
    latency_ms: 10,
    input_tokens: 1,
    output_tokens: 1,
    cache_read_input_tokens: null,
    cache_creation_input_tokens: null,
    failure_class: null,
    err_type: null,
    instance: "box-a",
    client: "alice",
    session_id: "s1",
    route: null,
    route_name: null,
    attempts: [{ lane: "zai", protocol: "h1" }],
    ...o,
  });
  test("one row per value; a request without a key is client none, without a session -", () => {
    const rs = [row({}), row({ client: "bob", session_id: "s2", instance: "box-b" }), row({ client: null, session_id: null }), row({ client: "anonymous" })];
    expect(computeStats(rs, { by: "client" }).map((g) => [g.key, g.requests])).toEqual([
      ["alice", 1],
      ["anonymous", 1],
      ["bob", 1],
      ["none", 1],
    ]);
    expect(computeStats(rs, { by: "session" }).map((g) => [g.key, g.requests])).toEqual([
      ["s1", 2],
      ["-", 1],
      ["s2", 1],
    ]);
    expect(computeStats(rs, { by: "instance" }).map((g) => [g.key, g.requests])).toEqual([
      ["box-a", 3],
      ["box-b", 1],
    ]);
  });
});
