import { describe, expect, test } from "bun:test";
import { CONFIG, HOUR, ok, post, quotaApp as app, T0, WALL_TEXT } from "../support/quota-app.ts";
import type { Step } from "../support/scripted.ts";

/**
 * Steering by the plans' quotas, in process: walls in answers move a request along its route's
 * chain, a lane returns when its window resets, every lane walled gets one clear 429, the
 * threshold steers before the wall, and overage = "block" refuses. The clock is the test's.
 */
const WALLS: Record<string, Step> = {
  "error.code": { status: 429, body: JSON.stringify({ type: "error", error: { type: "rate_limit_error", code: "1308", message: WALL_TEXT } }) },
  "error.type": { status: 429, body: JSON.stringify({ type: "error", error: { type: "1308", message: WALL_TEXT } }) },
  "[1308] in the message": { status: 429, body: JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: `[1308][${WALL_TEXT}]` } }) },
};
describe("a quota wall moves the request along its chain", () => {
  test.each(Object.entries(WALLS))("Z.ai's 1308 as %s: rerouted at once, the next request goes straight to the next lane, and back after the reset", async (_form, wall) => {
    const a = app(CONFIG(), { zai: [wall] });
    const first = await a.request("/v1/messages", post());
    expect(first.status).toBe(200);
    await first.text();
    expect(a.lanes()).toEqual(["zai", "anthropic"]);

    const second = await a.request("/v1/messages", post());
    await second.text();
    expect(a.lanes()).toEqual(["zai", "anthropic", "anthropic"]);

    a.clock.now = T0 + 3 * HOUR + 1_000;
    const third = await a.request("/v1/messages", post());
    await third.text();
    expect(a.lanes()).toEqual(["zai", "anthropic", "anthropic", "zai"]);

    const records = await a.records();
    expect(records.map((r) => [r.lane, r.rerouted_from, r.reroute_reason])).toEqual([
      ["anthropic", "zai", "quota_wall"],
      ["anthropic", "zai", "quota_wall"],
      ["zai", null, null],
    ]);
    expect(records[0]!.attempts.map((t) => [t.lane, t.status, t.code])).toEqual([
      ["zai", 429, "1308"],
      ["anthropic", 200, null],
    ]);
    expect(a.logs.some((l) => l.includes("lane zai: plan limit reached (5h, 1308); resets at 2026-12-04T15:00:00Z"))).toBe(true);
  });

  test("every lane walled: one 429 naming each lane's reset, x-should-retry false, no Anthropic unified headers, nothing tried", async () => {
    const rejected: Step = {
      status: 429,
      headers: [
        ["anthropic-ratelimit-unified-status", "rejected"],
        ["anthropic-ratelimit-unified-reset", String((T0 + 2 * HOUR) / 1000)],
        ["anthropic-ratelimit-unified-representative-claim", "five_hour"],
        ["anthropic-ratelimit-unified-5h-status", "rejected"],
        ["anthropic-ratelimit-unified-5h-utilization", "1.02"],
      ],
      body: JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: "limit" } }),
    };
    const a = app(CONFIG(), { zai: [WALLS["error.code"]!], anthropic: [rejected] });
    const first = await a.request("/v1/messages", post());
    expect(first.status).toBe(429);
    const body = (await first.json()) as { error: { type: string; message: string } };
    expect(first.headers.get("x-should-retry")).toBe("false");
    expect([...first.headers.keys()].filter((k) => k.startsWith("anthropic-ratelimit-unified"))).toEqual([]);
    expect(body.error.type).toBe("rate_limit_error");
    expect(body.error.message).toContain("zai: five-hour limit reached (1308), resets at 2026-12-04T15:00:00Z (in 3h00m)");
    expect(body.error.message).toContain("anthropic: five-hour limit reached (rejected), resets at 2026-12-04T14:00:00Z (in 2h00m)");
    expect(first.headers.get("retry-after")).toBe(String(2 * 3600));

    const second = await a.request("/v1/messages", post());
    expect(second.status).toBe(429);
    await second.text();
    expect(a.lanes()).toEqual(["zai", "anthropic"]);
    const records = await a.records();
    expect(records[1]!.failure_class).toBe("quota_wall");
    expect(records[1]!.attempts).toEqual([]);
  });

  test("a one-lane route: Z.ai's wall gets ccp's 429 (not retried by ccp or Claude Code); Anthropic's plan limit goes on as it came", async () => {
    const a = app(CONFIG({ chain: '["zai"]' }), { zai: [WALLS["error.type"]!] });
    const res = await a.request("/v1/messages", post());
    expect(res.status).toBe(429);
    expect(res.headers.get("x-should-retry")).toBe("false");
    expect(await res.text()).toContain("zai: five-hour limit reached (1308)");
    expect(a.lanes()).toEqual(["zai"]);

    const rejected: Step = {
      status: 429,
      headers: [["anthropic-ratelimit-unified-status", "rejected"]],
      body: JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: "upstream's own" } }),
    };
    const b = app(CONFIG(), { anthropic: [rejected] });
    const passed = await b.request("/v1/messages", post("claude-sonnet-4-6"));
    expect(passed.status).toBe(429);
    expect(passed.headers.get("anthropic-ratelimit-unified-status")).toBe("rejected");
    expect(await passed.text()).toContain("upstream's own");
  });

  test("each passthrough credential is its own plan: one client's wall does not steer another's", async () => {
    const rejected: Step = { status: 429, headers: [["anthropic-ratelimit-unified-status", "rejected"]], body: "{}" };
    const allowed = ok([["anthropic-ratelimit-unified-5h-utilization", "0.1"]]);
    const a = app(CONFIG({ chain: '["anthropic", "zai"]' }), { anthropic: [rejected, allowed] });
    await (await a.request("/v1/messages", post("claude-haiku-4-5", "client-key-a"))).text();
    await (await a.request("/v1/messages", post("claude-haiku-4-5", "client-key-b"))).text();
    await (await a.request("/v1/messages", post("claude-haiku-4-5", "client-key-a"))).text();
    expect(a.lanes()).toEqual(["anthropic", "zai", "anthropic", "zai"]);
    const quota = (await (await a.request("/quota")).json()) as { plans: { lane: string; credential: string }[] };
    const credentials = quota.plans.filter((p) => p.lane === "anthropic").map((p) => p.credential);
    expect(credentials).toHaveLength(2);
    for (const c of credentials) expect(c).toMatch(/^client:[0-9a-f]{12}$/);
    expect(JSON.stringify(quota)).not.toContain("client-key");
  });
});

describe("the threshold and overage steer before any wall", () => {
  const unified = (u5h: string, extra: [string, string][] = []): [string, string][] => [
    ["anthropic-ratelimit-unified-status", "allowed"],
    ["anthropic-ratelimit-unified-5h-utilization", u5h],
    ["anthropic-ratelimit-unified-5h-reset", String((T0 + HOUR) / 1000)],
    ["anthropic-ratelimit-unified-5h-status", "allowed_warning"],
    ...extra,
  ];

  test("a lane past quota_threshold is passed over while another lane is under it; back once the window resets", async () => {
    const a = app(CONFIG({ threshold: 0.95, chain: '["anthropic", "zai"]' }), { anthropic: [ok(unified("0.97"))] });
    for (let i = 0; i < 2; i++) await (await a.request("/v1/messages", post())).text();
    expect(a.lanes()).toEqual(["anthropic", "zai"]);
    const route = ((await (await a.request("/quota?model=claude-haiku-4-5")).json()) as { route: unknown }).route;
    expect(route).toEqual({ model: "claude-haiku-4-5", lanes: ["anthropic", "zai"], lane: "zai", rerouted_from: "anthropic", reason: "quota_threshold", quota_threshold: 0.95 });
    a.clock.now = T0 + HOUR + 1;
    await (await a.request("/v1/messages", post())).text();
    expect(a.lanes()).toEqual(["anthropic", "zai", "anthropic"]);
    expect((await a.records()).map((r) => r.reroute_reason)).toEqual([null, "quota_threshold", null]);
  });

  test("overage in use: warned once per window by default; with overage = block, the next request gets a clear 429 instead", async () => {
    const overage: [string, string][] = [
      ["anthropic-ratelimit-unified-overage-status", "allowed"],
      ["anthropic-ratelimit-unified-overage-in-use", "true"],
      ["anthropic-ratelimit-unified-overage-reset", String((T0 + HOUR) / 1000)],
    ];
    const warn = app(CONFIG(), { anthropic: [ok(unified("1.0", overage)), ok(unified("1.0", overage))] });
    for (let i = 0; i < 3; i++) await (await warn.request("/v1/messages", post("claude-sonnet-4-6"))).text();
    expect(warn.lanes()).toEqual(["anthropic", "anthropic", "anthropic"]);
    expect(warn.logs.filter((l) => l.includes("extra usage (overage)"))).toHaveLength(1);
    // Counted as it is logged: one overage window met.
    expect(await (await warn.request("/metrics")).text()).toContain('ccp_overage_windows_total{lane="anthropic"} 1');

    const block = app(CONFIG({ overage: "block" }), { anthropic: [ok(unified("1.0", overage))] });
    await (await block.request("/v1/messages", post("claude-sonnet-4-6"))).text();
    const refused = await block.request("/v1/messages", post("claude-sonnet-4-6"));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-should-retry")).toBe("false");
    expect(await refused.text()).toContain("extra usage (overage), which the lane blocks");
    expect(block.lanes()).toEqual(["anthropic"]);
    const metrics = await (await block.request("/metrics")).text();
    expect(metrics).toContain('ccp_overage_in_use{lane="anthropic"} 1');
    expect(metrics).toContain('ccp_quota_utilization{lane="anthropic",window="5h"} 1');
  });
});

describe("what the answers say is kept, relayed and shown", () => {
  test("unified headers reach the client unchanged, and GET /quota and the metrics show them", async () => {
    const headers: [string, string][] = [
      ["anthropic-ratelimit-unified-status", "allowed"],
      ["anthropic-ratelimit-unified-5h-utilization", "0.42"],
      ["anthropic-ratelimit-unified-5h-reset", String((T0 + HOUR) / 1000)],
      ["anthropic-ratelimit-unified-7d-utilization", "1.13"],
      ["anthropic-ratelimit-unified-7d-reset", String((T0 + 48 * HOUR) / 1000)],
      ["anthropic-ratelimit-unified-7d-surpassed-threshold", "0.75"],
    ];
    const a = app(CONFIG(), { anthropic: [ok(headers)] });
    const res = await a.request("/v1/messages", post("claude-sonnet-4-6"));
    await res.text();
    for (const [k, v] of headers) expect(res.headers.get(k)).toBe(v);
    const quota = (await (await a.request("/quota")).json()) as { plans: { lane: string; windows: { window: string; utilization: number; source: string }[] }[] };
    const anthropic = quota.plans.find((p) => p.lane === "anthropic")!;
    expect(anthropic.windows.map((w) => [w.window, w.utilization, w.source])).toEqual([
      ["5h", 0.42, "headers"],
      ["7d", 1.13, "headers"],
    ]);
    expect(quota.plans.find((p) => p.lane === "zai")).toMatchObject({ credential: "none", windows: [], poll: "none" });
    const metrics = await (await a.request("/metrics")).text();
    expect(metrics).toContain('ccp_quota_utilization{lane="anthropic",window="7d"} 1.13');
    expect(metrics).toContain('ccp_quota_reset_seconds{lane="anthropic",window="5h"} 3600');
  });
});
