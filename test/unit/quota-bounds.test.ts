import { describe, expect, test } from "bun:test";
import { QuotaBook } from "../../src/quota/book.ts";
import { wallAnswer } from "../../src/quota/desk.ts";
import { CONFIG, HOUR, ok, post, quotaApp as app, T0 } from "../support/quota-app.ts";
import { inProcessApp, sseAnswer, type Step } from "../support/scripted.ts";

/**
 * What an upstream says of its plan cannot hold a lane for good, steer the wrong models, or grow
 * ccp's memory: every wall lapses (at a believable reset, else after a minute), the request that
 * hit a wall moves on, a model's own window binds only that model, and what is kept is bounded.
 * Found by an attacker's review of the quota work (2026-12); each case failed before its fix.
 */
const MINUTE = 60_000;
const zaiWall = (message: string, error: Record<string, unknown> = { type: "rate_limit_error", code: "1308" }): Step => ({
  status: 429,
  body: JSON.stringify({ type: "error", error: { ...error, message } }),
});
const rejected = (extra: [string, string][] = []): Step => ({
  status: 429,
  headers: [["anthropic-ratelimit-unified-status", "rejected"], ...extra],
  body: JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: "limit" } }),
});

/** Walls whose reset cannot be believed: none said, years away, already past, not a time. */
const UNBELIEVABLE: Record<string, { first: "zai" | "anthropic"; step: Step }> = {
  "1308 without a date": { first: "zai", step: zaiWall("Usage limit reached for 5 hour.") },
  "1308 reset in 2099": { first: "zai", step: zaiWall("Usage limit reached. Your limit will reset at 2099-01-01 00:00:00") },
  "1308 reset a second ago": { first: "zai", step: zaiWall("Usage limit reached. Your limit will reset at 2026-12-04 19:59:59") },
  "1310 as error.type, no date": { first: "zai", step: zaiWall("Weekly limit reached", { type: "1310" }) },
  "rejected, no reset": { first: "anthropic", step: rejected() },
  "rejected, reset 0": { first: "anthropic", step: rejected([["anthropic-ratelimit-unified-reset", "0"]]) },
  "rejected, reset not a number": { first: "anthropic", step: rejected([["anthropic-ratelimit-unified-reset", "soon"]]) },
  "rejected 5h window only, overall allowed": {
    first: "anthropic",
    step: {
      status: 429,
      headers: [
        ["anthropic-ratelimit-unified-status", "allowed"],
        ["anthropic-ratelimit-unified-5h-status", "rejected"],
      ],
      body: "{}",
    },
  },
};

describe("every wall lapses", () => {
  for (const [name, { first, step }] of Object.entries(UNBELIEVABLE)) {
    for (const threshold of [0.5, 0.95, 1]) {
      test(`${name}, quota_threshold ${threshold}: the request that hit it moves on; a minute later the lane is tried again`, async () => {
        const chain = first === "zai" ? '["zai", "anthropic"]' : '["anthropic", "zai"]';
        const second = first === "zai" ? "anthropic" : "zai";
        const a = app(CONFIG({ chain, threshold }), { [first]: [step] });
        const hit = await a.request("/v1/messages", post());
        expect(hit.status).toBe(200);
        await hit.text();
        expect(a.lanes()).toEqual([first, second]);
        await (await a.request("/v1/messages", post())).text();
        expect(a.lanes()).toEqual([first, second, second]);
        a.clock.now = T0 + MINUTE + 1;
        await (await a.request("/v1/messages", post())).text();
        expect(a.lanes()).toEqual([first, second, second, first]);
        expect((await a.records())[0]!.reroute_reason ?? (await a.records())[0]!.rerouted_from).toBeTruthy();
      });
    }
  }

  test("overage = block without a believable overage reset refuses for a minute after the last reading, not until a restart", async () => {
    for (const reset of [undefined, "4102444800" /* 2100 */, "1"]) {
      const headers: [string, string][] = [
        ["anthropic-ratelimit-unified-status", "allowed"],
        ["anthropic-ratelimit-unified-overage-status", "allowed"],
        ["anthropic-ratelimit-unified-overage-in-use", "true"],
        ...(reset === undefined ? [] : ([["anthropic-ratelimit-unified-overage-reset", reset]] as [string, string][])),
      ];
      const a = app(CONFIG({ overage: "block" }), { anthropic: [ok(headers)] });
      await (await a.request("/v1/messages", post("claude-sonnet-4-6"))).text();
      expect((await a.request("/v1/messages", post("claude-sonnet-4-6"))).status).toBe(429);
      a.clock.now = T0 + MINUTE + 1;
      const again = await a.request("/v1/messages", post("claude-sonnet-4-6"));
      expect([reset, again.status]).toEqual([reset, 200]);
      await again.text();
      expect(a.lanes()).toEqual(["anthropic", "anthropic"]);
    }
  });
});

describe("a wall is read from the answer's own fields", () => {
  const frame = (error: Record<string, unknown>) => `event: error\ndata: ${JSON.stringify({ type: "error", error })}\n\n`;
  const inStream = (error: Record<string, unknown>): Step => ({ status: 200, headers: [["content-type", "text/event-stream"]], body: [sseAnswer("x")[0]!, frame(error)] });

  test.each([
    ["code 1308, type api_error", { type: "api_error", code: "1308", message: "limit" }],
    ["numeric code 1310, no type", { code: 1310, message: "limit" }],
    ["type 1308", { type: "1308", message: "limit" }],
  ])("a 2xx stream's error frame with %s walls the lane: the next request goes straight to the next lane", async (_name, error) => {
    const a = app(CONFIG(), { zai: [inStream(error)] });
    await (await a.request("/v1/messages", post())).text();
    await (await a.request("/v1/messages", post())).text();
    expect(a.lanes()).toEqual(["zai", "anthropic", "anthropic"]);
  });

  test("an error that only quotes a wall in its message (the client's own words) walls nothing", () => {
    const quoting = { type: "invalid_request_error", message: 'you wrote "[1308] reset at 2099-01-01 00:00:00" and {"code":"1308"}' };
    expect(wallAnswer(200, frame(quoting))).toBe(false);
    expect(wallAnswer(200, JSON.stringify({ type: "error", error: quoting }))).toBe(false);
    expect(wallAnswer(200, frame({ type: "overloaded_error", message: "[1302] busy" }))).toBe(false);
    expect(wallAnswer(200, frame({ type: "rate_limit_error", message: "x" }))).toBe(true);
    expect(wallAnswer(500, JSON.stringify({ type: "error", error: { code: "1308" } }))).toBe(false);
    expect(wallAnswer(429, "not json")).toBe(true);
    // An event's data may come on several data lines (joined by a line feed), with CR or CRLF line ends.
    const json = JSON.stringify({ type: "error", error: { type: "api_error", code: "1308", message: "limit" } });
    const cut = json.indexOf(",") + 1;
    for (const eol of ["\n", "\r\n", "\r"]) {
      expect(wallAnswer(200, `event: error${eol}data: ${json.slice(0, cut)}${eol}data:${json.slice(cut)}${eol}${eol}`)).toBe(true);
    }
  });
});

describe("a model's own window binds only that model", () => {
  const opusFull: [string, string][] = [
    ["anthropic-ratelimit-unified-status", "allowed"],
    ["anthropic-ratelimit-unified-7d_opus-utilization", "1.0"],
    ["anthropic-ratelimit-unified-7d_opus-status", "allowed_warning"],
    ["anthropic-ratelimit-unified-7d_opus-reset", String((T0 + 48 * HOUR) / 1000)],
    ["anthropic-ratelimit-unified-5h-utilization", "0.2"],
  ];

  test("7d_opus at 100%: Opus requests steer to the next lane, Sonnet and Haiku stay", async () => {
    const a = app(CONFIG({ chain: '["anthropic", "zai"]', match: "claude-*", threshold: 0.95 }), { anthropic: [ok(opusFull)] });
    for (const model of ["claude-sonnet-4-6", "claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5"]) await (await a.request("/v1/messages", post(model))).text();
    expect(a.lanes()).toEqual(["anthropic", "zai", "anthropic", "anthropic"]);
    const route = async (model: string) => ((await (await a.request(`/quota?model=${model}`)).json()) as { route: { lane: string } }).route.lane;
    expect([await route("claude-opus-4-8"), await route("claude-sonnet-4-6")]).toEqual(["zai", "anthropic"]);
  });

  test("a wall on 7d_opus moves Opus only", async () => {
    const wall = rejected([
      ["anthropic-ratelimit-unified-representative-claim", "seven_day_opus"],
      ["anthropic-ratelimit-unified-reset", String((T0 + 48 * HOUR) / 1000)],
    ]);
    const a = app(CONFIG({ chain: '["anthropic", "zai"]', match: "claude-*" }), { anthropic: [wall] });
    for (const model of ["claude-opus-4-8", "claude-opus-4-8", "claude-sonnet-4-6"]) await (await a.request("/v1/messages", post(model))).text();
    expect(a.lanes()).toEqual(["anthropic", "zai", "zai", "anthropic"]);
  });
});

describe("what is kept is bounded, and shown plain", () => {
  test("a provider naming a new window in each of 400 walls: at most 16 windows per plan and 256 wall series", async () => {
    const steps = Array.from({ length: 400 }, (_, i) => rejected([["anthropic-ratelimit-unified-representative-claim", `w${i}`]]));
    const a = app(CONFIG({ chain: '["anthropic", "zai"]' }), { anthropic: steps });
    for (let i = 0; i < 400; i++) {
      a.clock.now = T0 + i * 2 * MINUTE; // each wall lapses before the next request
      await (await a.request("/v1/messages", post())).text();
    }
    expect(a.lanes().filter((l) => l === "anthropic")).toHaveLength(400);
    const quota = (await (await a.request("/quota")).json()) as { plans: { lane: string; windows: unknown[] }[] };
    for (const p of quota.plans) expect(p.windows.length).toBeLessThanOrEqual(16);
    const series = (await (await a.request("/metrics")).text()).split("\n").filter((l) => l.startsWith("ccp_quota_walls_total{"));
    expect(series.length).toBeLessThanOrEqual(257);
    expect(series.length).toBeGreaterThan(16);
  });

  test("overage status and reason: control characters gone, at most 64 characters, wherever they are shown", async () => {
    const headers: [string, string][] = [
      ["anthropic-ratelimit-unified-status", "allowed"],
      ["anthropic-ratelimit-unified-overage-status", `allowed\u001b[31m\u0007${"x".repeat(5000)}`],
      ["anthropic-ratelimit-unified-overage-disabled-reason", `a\u0000b\u2028c${"y".repeat(5000)}`],
    ];
    const a = app(CONFIG(), { anthropic: [ok(headers)] });
    await (await a.request("/v1/messages", post("claude-sonnet-4-6"))).text();
    const text = await (await a.request("/quota")).text();
    expect(text).not.toMatch(/\\u00(0|1)[0-9a-f]|\\u2028/i);
    expect(text).not.toContain("x".repeat(65));
    expect(text).not.toContain("y".repeat(65));
    expect(text).toContain("allowed[31m");
  });

  test("/quota says which keyed lane has no key (the status line shows it before a request fails)", async () => {
    const withKey = (await (await app(CONFIG(), {}).request("/quota")).json()) as { plans: { lane: string; key_missing?: boolean }[] };
    expect(withKey.plans.map((p) => [p.lane, p.key_missing])).toEqual([
      ["anthropic", false],
      ["zai", false],
    ]);
    const none = inProcessApp(CONFIG(), () => ok(), {});
    const without = (await (await none.request("/quota")).json()) as { plans: { lane: string; key_missing?: boolean }[] };
    expect(without.plans.find((p) => p.lane === "zai")?.key_missing).toBe(true);
  });

  test("a book of 1000 plans answers who is walled without copying every plan per plan", () => {
    const book = new QuotaBook(() => T0);
    for (let i = 0; i < 1000; i++) book.overage("anthropic", `client:${i}`, { inUse: true, status: "allowed", utilization: 1, resetsAt: null, disabledReason: null });
    expect(book.overageOf("anthropic", "client:999")?.readAt).toBe(T0);
    expect(book.overageOf("anthropic", "client:1000")).toBeUndefined();
  });
});
