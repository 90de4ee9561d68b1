import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startCcp, type CcpProcess } from "../support/ccp.ts";
import { HAIKU, runClaude, type ClaudeResult } from "../support/claude.ts";
import { startFakeUpstream, type Behaviour, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { toToml } from "../support/toml.ts";

/**
 * The two field failures ccp exists for, and their relatives, through the real Claude Code
 * CLI with its own retries off (CLAUDE_CODE_MAX_RETRIES=0): what the user sees is what ccp did.
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
});

type Lane = Record<string, unknown>;
const zaiLane = (o: Lane = {}): Lane => ({
  base_url: `${upstream.url}/zai/api/anthropic`,
  auth: "key",
  key_env: "ZAI_API_KEY",
  transport: "h1",
  dialect: "zai",
  ca_file: upstream.caFile,
  ...o,
});
const anthropicLane = (o: Lane = {}): Lane => ({ base_url: `${upstream.url}/anthropic`, transport: "h2", ca_file: upstream.caFile, ...o });

async function withCcp<T>(doc: { zai?: Lane; anthropic?: Lane; fallback?: string }, fn: (ccp: CcpProcess) => Promise<T>): Promise<T> {
  const config = toToml({
    port: 0,
    fallback: doc.fallback ?? "off",
    lanes: { zai: zaiLane(doc.zai) as never, anthropic: anthropicLane(doc.anthropic) as never },
    routes: [
      { match: "claude-haiku-*", lane: "zai" },
      { match: "*", lane: "anthropic" },
    ],
  });
  const ccp = await startCcp({ config, env: { ZAI_API_KEY: "zai-key" } });
  try {
    return await fn(ccp);
  } finally {
    await ccp.stop();
  }
}

const claude = (ccp: CcpProcess, env: Record<string, string> = {}) => runClaude(ccp.url, { model: HAIKU, env: { CLAUDE_CODE_MAX_RETRIES: "0", ...env } });
const ok = (r: ClaudeResult) => expect(r.json).toMatchObject({ is_error: false, result: "ok" });
const messagesLines = async (ccp: CcpProcess) => (await ccp.usage(1)).filter((l) => l.op === "messages");
const outcomes = (line: Record<string, unknown>) => (line.attempts as { outcome: string }[]).map((a) => a.outcome);

const zaiMessages = { pathPrefix: "/zai/", endpoint: "messages" } as const;
const burst = (frames: string): Behaviour => ({ kind: "sse", frames });
const errorFrame = (error: unknown) => `event: error\ndata: ${JSON.stringify({ type: "error", error })}\n\n`;

describe("Z.ai burst limit: HTTP 200 then an in-stream [1302]", () => {
  test.each([
    ["code in the message text", errorFrame({ type: "rate_limit_error", message: "[1302] High concurrency usage of this API" })],
    ["a ping before the error", `event: ping\ndata: {"type":"ping"}\n\n${errorFrame({ type: "rate_limit_error", message: "[1302] High concurrency" })}`],
    ["code in a field, generic type", errorFrame({ code: "1302", type: "error", message: "High concurrency" })],
  ])("twice, then healthy: the answer arrives after three attempts (%s)", async (_name, frames) => {
    await upstream.script([burst(frames), burst(frames)], zaiMessages);
    await withCcp({}, async (ccp) => {
      ok(await claude(ccp));
      const [line] = await messagesLines(ccp);
      expect(outcomes(line!)).toEqual(["in_stream_error", "in_stream_error", "ok"]);
      expect(line).toMatchObject({ status: 200, retries: 2, lane: "zai" });
      expect((line!.attempts as { code: string }[])[0]!.code).toBe("1302");
      // The operator's log says why each attempt failed, as it does for transport failures.
      expect(ccp.output()).toMatch(/attempt 1 lane=zai protocol=h1 in_stream_error after \d+ ms: \w+: .*High concurrency/);
      expect(ccp.output()).toMatch(/attempt 2 lane=zai protocol=h1 in_stream_error after/);
    });
  });

  test("a quota wall (1308) in the stream is not retried (by ccp or Claude Code) and reaches the client as ccp's 429 naming it", async () => {
    await upstream.script([burst(errorFrame({ type: "rate_limit_error", message: "[1308] Usage limit reached for 5 hour" }))], zaiMessages);
    await withCcp({}, async (ccp) => {
      const r = await claude(ccp);
      expect(r.json?.is_error).toBe(true);
      expect(String(r.json?.result)).toContain("1308");
      const [line] = await messagesLines(ccp);
      expect(line).toMatchObject({ status: 429, retries: 0, failure_class: "quota_wall", attempts: [{ lane: "zai", outcome: "in_stream_error", code: "1308" }] });
      expect((await upstream.requests()).filter((q) => q.path.includes("/v1/messages"))).toHaveLength(1);
    });
  });

  test("a [1302] after the stream started is recorded as the in-stream error it is, with its code on the attempt and the metric", async () => {
    const message = { id: "msg_1", type: "message", role: "assistant", model: "glm-4.5-air", content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } };
    const start = `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message })}\n\n`;
    const delta =
      `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\nevent: ` +
      `content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"o"}}\n\n`;
    await upstream.script([burst(start + delta + errorFrame({ type: "rate_limit_error", message: "[1302] High concurrency" }))], zaiMessages);
    await withCcp({}, async (ccp) => {
      const res = await fetch(`${ccp.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: HAIKU, max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("[1302] High concurrency");
      const [line] = await messagesLines(ccp);
      expect(line).toMatchObject({ status: 200, failure_class: "in_stream_error", err_type: "rate_limit_error" });
      // The attempt's outcome is what ended the answer, after commit as before.
      expect(line!.attempts).toEqual([expect.objectContaining({ outcome: "in_stream_error", code: "1302" })]);
      const metrics = await (await fetch(`${ccp.url}/metrics`)).text();
      expect(metrics).toContain('ccp_in_stream_errors_total{lane="zai",code="1302"} 1');
    });
  });

  test("eight parallel Claude Code sessions on one lane whose provider admits two streams all succeed", async () => {
    await upstream.limit({ maxConcurrent: 2, delayMs: 150 });
    await withCcp({ zai: { max_concurrency: 4, retry: { attempts: 8, base_ms: 300, cap_ms: 3000, budget_ms: 90000 } } }, async (ccp) => {
      const results = await Promise.all(Array.from({ length: 8 }, () => claude(ccp)));
      for (const r of results) ok(r);
      const stats = await upstream.limitStats();
      expect(stats.peak).toBeLessThanOrEqual(2);
      const lines = await messagesLines(ccp);
      expect(lines.filter((l) => l.status === 200)).toHaveLength(8);
    });
  }, 240_000);
});

describe("HTTP status answers", () => {
  test("429 with retry-after: 1, then healthy: success after about a second", async () => {
    await upstream.script([{ kind: "status", status: 429, headers: { "retry-after": "1" } }], zaiMessages);
    await withCcp({}, async (ccp) => {
      ok(await claude(ccp));
      const [line] = await messagesLines(ccp);
      expect(outcomes(line!)).toEqual(["http_status", "ok"]);
      expect((line!.attempts as { wait_ms: number }[])[1]!.wait_ms).toBe(1000);
    });
  });

  test("529 twice, then healthy: success", async () => {
    await upstream.script(
      [
        { kind: "status", status: 529 },
        { kind: "status", status: 529 },
      ],
      zaiMessages,
    );
    await withCcp({}, async (ccp) => {
      ok(await claude(ccp));
      expect(outcomes((await messagesLines(ccp))[0]!)).toEqual(["http_status", "http_status", "ok"]);
    });
  });

  test.each([401, 400])("%i is passed through on the first attempt, never retried", async (status) => {
    // Claude Code itself re-asks after some 4xx answers: every one of its requests must see the status once.
    await upstream.script(
      Array.from({ length: 8 }, () => ({ kind: "status", status }) as Behaviour),
      zaiMessages,
    );
    await withCcp({}, async (ccp) => {
      const r = await claude(ccp);
      expect(r.json?.is_error).toBe(true);
      const lines = await messagesLines(ccp);
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const line of lines) expect(line).toMatchObject({ status, retries: 0, failure_class: "http_status" });
      expect((await upstream.requests()).filter((q) => q.path.startsWith("/zai/"))).toHaveLength(lines.length);
    });
  });

  test("an overload outlasting the lane's time budget: retried past the attempt count, then a 529 overloaded_error (never a 429) telling the client not to hammer at once", async () => {
    await upstream.script(
      Array.from({ length: 40 }, () => ({ kind: "status", status: 429 }) as Behaviour),
      zaiMessages,
    );
    await withCcp({ zai: { retry: { attempts: 2, base_ms: 50, cap_ms: 100, budget_ms: 1500 } } }, async (ccp) => {
      const res = await fetch(`${ccp.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: HAIKU, stream: false, max_tokens: 5, messages: [] }),
      });
      expect(res.status).toBe(529);
      expect(res.headers.get("x-should-retry")).toBe("false");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
      const [line] = await messagesLines(ccp);
      expect((line!.attempts as unknown[]).length).toBeGreaterThan(2);
    });
    await upstream.reset();
  });

  test("a lasting 529 with Claude Code's own retries on (its default): it asks ccp once, so the provider sees ccp's attempts only, not ccp's times Claude Code's", async () => {
    await upstream.script(
      Array.from({ length: 300 }, () => ({ kind: "status", status: 529 }) as Behaviour),
      zaiMessages,
    );
    await withCcp({ zai: { retry: { base_ms: 100, cap_ms: 500, budget_ms: 3000 } } }, async (ccp) => {
      const r = await runClaude(ccp.url, { model: HAIKU, timeoutMs: 150_000 });
      // One request from Claude Code: it honoured x-should-retry: false on ccp's 529.
      const lines = await messagesLines(ccp);
      expect(lines).toHaveLength(1);
      expect(r.json?.is_error).toBe(true);
      expect(lines[0]).toMatchObject({ status: 529, failure_class: "http_status" });
      // The provider saw exactly the attempts on that line: more than one (ccp retried), bounded by the 3 s budget.
      const tries = (lines[0]!.attempts as unknown[]).length;
      expect(tries).toBeGreaterThan(1);
      expect(tries).toBeLessThanOrEqual(40);
      expect((await upstream.requests()).filter((q) => q.path.startsWith("/zai/") && q.path.includes("/v1/messages"))).toHaveLength(tries);
    });
    await upstream.reset();
  }, 180_000);
});

describe("a lasting overload on a lane (rule 6)", () => {
  // The limiter halves once per decreaseEveryMs (250 ms) counted from its last halving, so a
  // lasting storm brings it down to one request at a time (before, every overload within 250 ms of
  // the previous one was skipped, and in a storm every one was: it stayed at 3).
  test("six requests at once: after the first wave, the provider sees one probe at a time while the others wait in ccp", async () => {
    // A provider that answers every request with 529 after 150 ms and counts how many it has at once.
    const t0 = Date.now();
    let inFlight = 0;
    const seen: { start: number; end: number; atOnce: number }[] = [];
    const provider = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        await req.arrayBuffer();
        const start = Date.now() - t0;
        const atOnce = ++inFlight;
        await Bun.sleep(150);
        inFlight--;
        seen.push({ start, end: Date.now() - t0, atOnce });
        return Response.json({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, { status: 529 });
      },
    });
    const config = toToml({
      port: 0,
      lanes: {
        zai: { base_url: `http://127.0.0.1:${provider.port}/zai`, auth: "key", key_env: "ZAI_API_KEY", transport: "h1", retry: { base_ms: 100, cap_ms: 400, budget_ms: 5000 } },
      },
      routes: [{ match: "*", lane: "zai" }],
    });
    const ccp = await startCcp({ config, env: { ZAI_API_KEY: "zai-key" } });
    try {
      const body = JSON.stringify({ model: HAIKU, max_tokens: 5, stream: true, messages: [{ role: "user", content: "hi" }] });
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => fetch(`${ccp.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body }).then((r) => r.status)),
      );
      expect(answers).toEqual(Array(6).fill(529));
      // The first wave came before anything was known; 1.5 s after its first refusal the lane has adapted.
      const settled = Math.min(...seen.map((s) => s.end)) + 1500;
      const later = seen.filter((s) => s.start >= settled);
      expect(later.length).toBeGreaterThan(3);
      expect(Math.max(...later.map((s) => s.atOnce))).toBe(1);
    } finally {
      await ccp.stop();
      provider.stop(true);
    }
  }, 60_000);
});

describe("streams that end badly after they started", () => {
  test("upstream closes without message_stop: Claude Code still succeeds; the usage line says the stream was cut short", async () => {
    await upstream.script([{ kind: "end_without_stop" }], zaiMessages);
    await withCcp({}, async (ccp) => {
      ok(await claude(ccp));
      const [first] = await messagesLines(ccp);
      // The client saw a well-formed end, but not the whole answer: the line says so.
      expect(first).toMatchObject({ status: 200, stream: true, failure_class: "protocol", err_type: "stream_error" });
    });
  });

  test("upstream resets after content: an event: error reaches the client, Claude Code reports an API error, not a malformed response", async () => {
    // The stream breaks after content; Claude Code's non-streaming retry then meets a lane that keeps resetting.
    await upstream.script([{ kind: "reset", afterEvents: 4 }, ...Array.from({ length: 12 }, () => ({ kind: "reset" }) as Behaviour)], zaiMessages);
    await withCcp({ zai: { retry: { attempts: 2, base_ms: 50, cap_ms: 100 } } }, async (ccp) => {
      const r = await claude(ccp);
      expect(r.json?.is_error).toBe(true);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/malformed/i);
      const [first] = await messagesLines(ccp);
      expect(first).toMatchObject({ status: 200, stream: true, failure_class: "reset", err_type: "stream_error" });
    });
  });

  test("the same reset seen by a raw client ends with a well-formed error frame on a frame boundary", async () => {
    await upstream.script([{ kind: "reset", afterEvents: 4 }], zaiMessages);
    await withCcp({}, async (ccp) => {
      const res = await fetch(`${ccp.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: HAIKU, stream: true, max_tokens: 5, messages: [] }),
      });
      const text = await res.text();
      expect(text).toMatch(/\n\nevent: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"upstream stream broke after it started: [^"]*"\},"request_id":"ccp_[^"]+"\}\n\n$/);
      // Rule 8: the failure after commit gets its attempt's warning line, as one before commit does.
      const warning = / attempt 1 lane=zai protocol=h1 reset after commit: /;
      await messagesLines(ccp);
      for (let i = 0; i < 40 && !warning.test(ccp.output()); i++) await Bun.sleep(50);
      expect(ccp.output()).toMatch(warning);
    });
  });
});

describe("slow but healthy", () => {
  test.each([
    ["5 s of silence", { kind: "normal", firstEventDelayMs: 5000 }],
    ["5 s of pings only", { kind: "normal", firstEventDelayMs: 5000, pingsBeforeFirst: 5 }],
  ] as [string, Behaviour][])("a first token after %s succeeds without any retry", async (_name, behaviour) => {
    await upstream.script([behaviour], zaiMessages);
    await withCcp({}, async (ccp) => {
      ok(await claude(ccp));
      expect((await messagesLines(ccp))[0]).toMatchObject({ retries: 0, status: 200 });
    });
  });
});

describe("HTTP/2 stalls (HTTP/1.1 fine)", () => {
  const h2Only = { pathPrefix: "/zai/", protocol: "h2" } as const;
  const stallAll = (kind: "stall_headers" | "stall_upload") =>
    upstream.script(
      Array.from({ length: 20 }, () => ({ kind }) as Behaviour),
      h2Only,
    );
  const limits = { timeouts: { headers_ms: 3000, upload_stall_ms: 1500, idle_ms: 60000 }, retry: { attempts: 2, base_ms: 100, cap_ms: 200 } };

  for (const kind of ["stall_headers", "stall_upload"] as const) {
    test(`${kind}: h1 succeeds (h2=false); h2 fails visibly within its limits; auto succeeds first time and records the downgrade`, async () => {
      await stallAll(kind);
      await withCcp({ zai: { ...limits, transport: "h1" } }, async (ccp) => {
        ok(await claude(ccp));
        expect((await messagesLines(ccp))[0]).toMatchObject({ h2: false, status: 200 });
      });

      const started = Date.now();
      await withCcp({ zai: { ...limits, transport: "h2" } }, async (ccp) => {
        const r = await claude(ccp);
        expect(r.json?.is_error).toBe(true);
        const [line] = await messagesLines(ccp);
        expect(line).toMatchObject({ h2: true, failure_class: kind === "stall_headers" ? "headers_timeout" : "upload_stall" });
        expect([502, 504]).toContain(line!.status as number);
      });
      expect(Date.now() - started).toBeLessThan(60_000);

      await withCcp({ zai: { ...limits, transport: "auto" } }, async (ccp) => {
        const t0 = Date.now();
        ok(await claude(ccp));
        const [line] = await messagesLines(ccp);
        expect(line).toMatchObject({ h2: false, downgraded: true, status: 200 });
        expect(outcomes(line!)).toEqual([kind === "stall_headers" ? "headers_timeout" : "upload_stall", "ok"]);
        if (kind === "stall_upload") expect(Date.now() - t0).toBeLessThan(20_000);
        // The lane stays on HTTP/1.1 for its cool-down: the next request goes straight there.
        ok(await claude(ccp));
        const second = (await messagesLines(ccp))[1]!;
        expect(outcomes(second)).toEqual(["ok"]);
        expect(second.h2).toBe(false);
      });
    }, 180_000);
  }
});

describe("fallback policy", () => {
  const brokenZai = () => ({
    base_url: `${upstream.blackholeUrl}/zai/api/anthropic`,
    timeouts: { tls_ms: 1000 },
    retry: { attempts: 2, base_ms: 100, cap_ms: 200 },
    fallback_lane: "anthropic",
  });

  test("network: the zai lane's TLS handshake never completes, the request succeeds on the fallback lane and says so", async () => {
    await withCcp({ fallback: "network", zai: brokenZai() }, async (ccp) => {
      ok(await claude(ccp));
      const [line] = await messagesLines(ccp);
      expect(line).toMatchObject({ lane: "anthropic", fallback_from: "zai", status: 200 });
      expect(outcomes(line!)).toEqual(["tls_timeout", "ok"]);
      const seen = (await upstream.requests()).filter((r) => r.path.startsWith("/anthropic/"));
      expect(seen.length).toBeGreaterThanOrEqual(1);
      expect(seen[0]!.headers["x-api-key"]).toBe("sk-ant-api03-client-key-for-tests");
    });
  });

  test("off: the same request fails fast and visibly", async () => {
    await withCcp({ fallback: "off", zai: brokenZai() }, async (ccp) => {
      const t0 = Date.now();
      const r = await claude(ccp);
      expect(r.json?.is_error).toBe(true);
      expect(Date.now() - t0).toBeLessThan(30_000);
      const [line] = await messagesLines(ccp);
      expect(line).toMatchObject({ lane: "zai", fallback_from: null, status: 502, failure_class: "tls_timeout" });
      expect(outcomes(line!)).toEqual(["tls_timeout", "tls_timeout"]);
    });
  });
});
