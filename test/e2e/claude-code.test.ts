import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { laneConfig, startCcp } from "../support/ccp.ts";
import { HAIKU, runClaude, SONNET } from "../support/claude.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";

const ZAI_KEY = "zai-lane-key-for-tests";
const CLIENT_KEY = "sk-ant-api03-client-key-for-tests";

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

/** Runs one Claude Code prompt per model through a fresh ccp and returns what everyone saw. */
async function session(o: { zai: "h1" | "h2"; env?: Record<string, string> }, models: string[]) {
  await upstream.reset();
  const ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile, { zai: o.zai }), env: { ZAI_API_KEY: ZAI_KEY, ...o.env } });
  try {
    const results = [];
    for (const model of models) results.push(await runClaude(ccp.url, { model }));
    const requests = await upstream.requests();
    const usage = await ccp.usage(requests.length);
    return { ccp, results, requests, usage };
  } finally {
    await ccp.stop();
  }
}

const messagesTo = (requests: Awaited<ReturnType<FakeUpstream["requests"]>>, prefix: string) => requests.filter((r) => r.path.startsWith(prefix) && /\/v1\/messages(\?|$)/.test(r.path));

describe("Claude Code through ccp", () => {
  let run: Awaited<ReturnType<typeof session>>;
  beforeAll(async () => {
    run = await session({ zai: "h1" }, [HAIKU, SONNET]);
  });

  test("both answers arrive", () => {
    for (const r of run.results) {
      expect(r.exitCode).toBe(0);
      expect(r.json).toMatchObject({ type: "result", is_error: false, result: "ok" });
    }
  });

  test("haiku goes to the zai lane over HTTP/1.1 with the lane's key and without the client's", () => {
    const zai = messagesTo(run.requests, "/zai/api/anthropic/");
    expect(zai.length).toBeGreaterThanOrEqual(1);
    for (const r of zai) {
      expect(r.protocol).toBe("http/1.1");
      expect(r.headers["x-api-key"]).toBe(ZAI_KEY);
      expect(r.headers.authorization).toBeUndefined();
      expect(JSON.stringify(r.headers)).not.toContain(CLIENT_KEY);
      expect(r.model).toBe("glm-4.5-air");
      expect(r.path).toContain("beta=true");
    }
  });

  test("sonnet goes to the anthropic lane over HTTP/2 with the client's credentials untouched", () => {
    const anthropic = messagesTo(run.requests, "/anthropic/");
    expect(anthropic.length).toBeGreaterThanOrEqual(1);
    for (const r of anthropic) {
      expect(r.protocol).toBe("h2");
      expect(r.headers["x-api-key"]).toBe(CLIENT_KEY);
      expect(JSON.stringify(r.headers)).not.toContain(ZAI_KEY);
      expect(r.model).toBe(SONNET);
      expect(r.headers["anthropic-version"]).toBe("2023-06-01");
    }
  });

  test("usage.jsonl: one well-formed line per request, status 200, numeric ttft, h2 as configured", () => {
    expect(run.usage.length).toBe(run.requests.length);
    for (const line of run.usage) {
      expect(line).toMatchObject({ status: 200, profile: "default", err_type: null, failure_class: null });
      expect(typeof line.ts).toBe("string");
      expect(typeof line.rid).toBe("string");
      expect(typeof line.latency_ms).toBe("number");
      expect(Array.isArray(line.attempts)).toBe(true);
    }
    const messages = run.usage.filter((l) => l.op === "messages" && l.stream === true);
    expect(messages.length).toBeGreaterThanOrEqual(2);
    for (const line of messages) {
      expect(typeof line.ttft_ms).toBe("number");
      expect(line.input_tokens).toBe(25);
      expect(line.output_tokens).toBe(5);
      expect(line.stop_reason).toBe("end_turn");
      expect(line.h2).toBe(line.lane === "anthropic");
      expect(line.header_mode).toBe("x-api-key");
    }
    const haiku = messages.find((l) => l.model === HAIKU)!;
    expect(haiku).toMatchObject({ lane: "zai", upstream_model: "glm-4.5-air", h2: false });
    expect(messages.find((l) => l.model === SONNET)).toMatchObject({ lane: "anthropic", upstream_model: SONNET, h2: true });
  });
});

describe("transport per lane, and MITM_FORCE_H1", () => {
  test("a zai lane configured h2 really speaks HTTP/2; MITM_FORCE_H1=1 flips it to HTTP/1.1 and leaves anthropic on h2", async () => {
    const h2 = await session({ zai: "h2" }, [HAIKU]);
    expect(h2.results[0]!.json).toMatchObject({ is_error: false, result: "ok" });
    expect(messagesTo(h2.requests, "/zai/").every((r) => r.protocol === "h2")).toBe(true);
    expect(h2.usage.filter((l) => l.lane === "zai").every((l) => l.h2 === true)).toBe(true);

    const forced = await session({ zai: "h2", env: { MITM_FORCE_H1: "1" } }, [HAIKU, SONNET]);
    for (const r of forced.results) expect(r.json).toMatchObject({ is_error: false, result: "ok" });
    expect(messagesTo(forced.requests, "/zai/").map((r) => r.protocol)).toEqual(messagesTo(forced.requests, "/zai/").map(() => "http/1.1"));
    expect(messagesTo(forced.requests, "/anthropic/").every((r) => r.protocol === "h2")).toBe(true);
    expect(forced.usage.filter((l) => l.lane === "zai").every((l) => l.h2 === false)).toBe(true);
    expect(forced.usage.filter((l) => l.lane === "anthropic").every((l) => l.h2 === true)).toBe(true);
  });
});

describe("Claude Code without ccp", () => {
  // The benchmark's direct arm speaks HTTP/1.1 because this is how Claude Code connects on its
  // own; should a release start using HTTP/2, this fails and the benchmark's baseline must follow.
  test("talking straight to an upstream that offers h2 and http/1.1, it picks HTTP/1.1", async () => {
    await upstream.reset();
    const r = await runClaude(`${upstream.url}/direct`, { env: { NODE_EXTRA_CA_CERTS: upstream.caFile } });
    expect(r.json).toMatchObject({ is_error: false, result: "ok" });
    const direct = messagesTo(await upstream.requests(), "/direct/");
    expect(direct.length).toBeGreaterThanOrEqual(1);
    expect(direct.map((q) => q.protocol)).toEqual(direct.map(() => "http/1.1"));
  });
});
