import { describe, expect, test } from "bun:test";
import { parseUnified } from "../../src/quota/unified.ts";
import { parseResetTime, parseZaiQuota, zaiWall } from "../../src/quota/zai.ts";
import type { Lane } from "../../src/config/config.ts";
import { QuotaDesk } from "../../src/quota/desk.ts";
import { type Standing, steer } from "../../src/quota/steer.ts";
import type { QuotaWindow, Wall } from "../../src/quota/window.ts";
import { prng } from "../support/usage-records.ts";

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);

describe("Anthropic's unified headers", () => {
  test("windows, fractions above 1, the overage family, a rejected plan and its binding window", () => {
    const u = parseUnified(
      [
        ["anthropic-ratelimit-unified-status", "rejected"],
        ["anthropic-ratelimit-unified-reset", "1796400000"],
        ["anthropic-ratelimit-unified-representative-claim", "five_hour"],
        ["anthropic-ratelimit-unified-5h-utilization", "1.02"],
        ["anthropic-ratelimit-unified-5h-reset", "1796400000"],
        ["anthropic-ratelimit-unified-5h-status", "rejected"],
        ["anthropic-ratelimit-unified-7d-utilization", "0.31"],
        ["anthropic-ratelimit-unified-7d-status", "allowed"],
        ["anthropic-ratelimit-unified-7d_opus-utilization", "0.5"],
        ["anthropic-ratelimit-unified-overage-status", "allowed"],
        ["anthropic-ratelimit-unified-overage-in-use", "true"],
        ["anthropic-ratelimit-unified-overage-utilization", "0.1"],
        ["content-type", "application/json"],
      ],
      NOW,
    )!;
    expect(u.windows.map((w) => [w.window, w.utilization, w.status])).toEqual([
      ["5h", 1.02, "rejected"],
      ["7d", 0.31, "allowed"],
      ["7d_opus", 0.5, "unknown"],
    ]);
    expect(u.windows[0]!.resetsAt).toBe(1796400000 * 1000);
    expect(u.overage).toMatchObject({ inUse: true, status: "allowed", utilization: 0.1 });
    expect(u.wall).toEqual({ window: "5h", resetsAt: 1796400000 * 1000, code: "rejected" });
  });

  test("missing fields are null; no unified header at all is undefined; allowed is no wall", () => {
    expect(parseUnified([["request-id", "x"]], NOW)).toBeUndefined();
    const u = parseUnified(
      [
        ["anthropic-ratelimit-unified-5h-utilization", "not a number"],
        ["anthropic-ratelimit-unified-status", "allowed"],
      ],
      NOW,
    )!;
    expect(u.windows).toEqual([{ window: "5h", utilization: null, resetsAt: null, status: "unknown", source: "headers", readAt: NOW }]);
    expect(u.wall).toBeUndefined();
  });
});

describe("Z.ai's quota endpoint and walls", () => {
  test("limits: the near token row is 5h, the far one weekly, TIME_LIMIT the monthly tools; percentages become fractions", () => {
    const body = {
      code: 200,
      success: true,
      data: {
        level: "pro",
        limits: [
          { type: "TOKENS_LIMIT", percentage: 42, nextResetTime: NOW + 2 * 3_600_000 },
          { type: "TOKENS_LIMIT", percentage: 7, nextResetTime: NOW + 4 * 86_400_000 },
          { type: "TIME_LIMIT", percentage: 100, nextResetTime: NOW + 20 * 86_400_000 },
        ],
      },
    };
    expect(parseZaiQuota(body, NOW)!.map((w) => [w.window, w.utilization, w.status])).toEqual([
      ["5h", 0.42, "allowed"],
      ["7d", 0.07, "allowed"],
      ["month_tools", 1, "rejected"],
    ]);
    expect(parseZaiQuota({ code: 401, msg: "no" }, NOW)).toBeUndefined();
  });

  test.each([
    ['{"error":{"code":"1308","message":"Usage limit reached for 5 hour. Your limit will reset at 2026-12-04 21:00:00"}}', "1308", "5h"],
    ['{"type":"error","error":{"type":"1308","message":"Usage limit reached for 5 hour. Your limit will reset at 2026-12-04 21:00:00"}}', "1308", "5h"],
    ['{"error":{"message":"[1310][Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-12-04 21:00:00]"}}', "1310", "7d"],
    ["event: error\ndata: [1308] Usage limit reached for 5 hour. Your limit will reset at 2026-12-04 21:00:00", "1308", "5h"],
  ])("%s → %s", (body, code, window) => {
    // 21:00 in China (UTC+8) is 13:00 UTC.
    expect(zaiWall(body)).toEqual({ code, window, resetsAt: Date.UTC(2026, 11, 4, 13, 0, 0) });
  });

  test("the reset time: UTC+8 without a zone, else the zone it names; no time, null; a burst code is no wall", () => {
    expect(parseResetTime("reset at 2026-01-31 23:30:00")).toBe(Date.UTC(2026, 0, 31, 15, 30));
    expect(parseResetTime("2026-01-31T23:30:00Z")).toBe(Date.UTC(2026, 0, 31, 23, 30));
    expect(parseResetTime("2026-01-31 23:30:00 +02:00")).toBe(Date.UTC(2026, 0, 31, 21, 30));
    expect(parseResetTime("soon")).toBeNull();
    expect(zaiWall('{"error":{"code":"1302","message":"[1302] busy"}}')).toBeUndefined();
  });
});

describe("steering over a chain (generated: 2000 chains, seeded)", () => {
  test("the first lane neither walled nor over; else the first open one; all walled, none; the reason names why the first was passed over", () => {
    const seed = Number(process.env.CCP_STEER_SEED ?? 20261204);
    const rnd = prng(seed);
    const wall: Wall = { window: "5h", resetsAt: null, code: "1308" };
    const over: QuotaWindow = { window: "7d", utilization: 0.99, resetsAt: null, status: "allowed_warning", source: "headers", readAt: 0 };
    for (let i = 0; i < 2000; i++) {
      const chain = Array.from({ length: 1 + Math.floor(rnd() * 4) }, (_, k) => `l${k}`);
      const standings = new Map<string, Standing>(chain.map((l) => [l, { wall: rnd() < 0.4 ? wall : undefined, over: rnd() < 0.4 ? over : undefined }]));
      const got = steer(chain, (l) => standings.get(l)!);
      const open = chain.filter((l) => !standings.get(l)!.wall);
      const where = `seed ${seed}, chain ${i}: ${JSON.stringify([...standings])}`;
      if (open.length === 0) {
        expect(got.kind, where).toBe("walled");
        continue;
      }
      const want = open.find((l) => !standings.get(l)!.over) ?? open[0]!;
      expect(got, where).toEqual({
        kind: "lane",
        lane: want,
        reroutedFrom: want === chain[0] ? null : chain[0]!,
        reason: want === chain[0] ? null : standings.get(chain[0]!)!.wall ? "quota_wall" : "quota_threshold",
      });
    }
  });
});

describe("what an answer can do to a plan", () => {
  const lanes = { zai: { name: "zai", auth: "key", overage: "warn" } } as unknown as Record<string, Lane>;
  const echo = (type: string) =>
    JSON.stringify({ type: "error", error: { type, message: "messages.0.content: '[1308] Usage limit reached for 5 hour. Your limit will reset at 2026-12-05 23:00:00' is not valid" } });

  test("only a rate-limit answer walls: an error quoting the client's words does not (a client cannot wall a shared lane)", () => {
    const desk = new QuotaDesk(
      lanes,
      () => {},
      () => NOW,
    );
    desk.observe(lanes.zai!, "lane", 400, [], echo("invalid_request_error"));
    desk.observe(lanes.zai!, "lane", 200, [], `event: error\ndata: ${echo("invalid_request_error")}\n\n`);
    expect(desk.book.walled("zai", "lane")).toBeUndefined();
    desk.observe(lanes.zai!, "lane", 200, [], `event: error\ndata: ${echo("rate_limit_error")}\n\n`);
    expect(desk.book.walled("zai", "lane")).toMatchObject({ window: "5h", code: "1308", resetsAt: Date.UTC(2026, 11, 5, 15) });
  });

  test("a bare Anthropic 429 (x-should-retry only, no unified header) is a throttle, not a wall: the lane stays open; the same 429 with unified rejected walls it", () => {
    const anthropic = { name: "anthropic", auth: "passthrough", overage: "warn" } as unknown as Lane;
    const desk = new QuotaDesk(
      { anthropic },
      () => {},
      () => NOW,
    );
    const body = JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit" } });
    for (const retry of ["true", "false"])
      desk.observe(
        anthropic,
        "client:a",
        429,
        [
          ["x-should-retry", retry],
          ["retry-after", "20"],
        ],
        body,
      );
    expect(desk.book.walled("anthropic", "client:a")).toBeUndefined();
    expect(desk.standing(anthropic, "client:a", 1).wall).toBeUndefined();
    expect(desk.steer({ lanes: ["anthropic"], threshold: 1 }, undefined)).toMatchObject({ kind: "lane", lane: "anthropic" });
    expect(desk.walls.size).toBe(0);
    desk.observe(
      anthropic,
      "client:a",
      429,
      [
        ["x-should-retry", "false"],
        ["anthropic-ratelimit-unified-status", "rejected"],
        ["anthropic-ratelimit-unified-5h-status", "rejected"],
      ],
      body,
    );
    expect(desk.standing(anthropic, "client:a", 1).wall).toMatchObject({ window: "5h", code: "rejected" });
  });

  test("a reset further than 40 days is not believed: the wall is held 60 s, the window's reset unknown", () => {
    let now = NOW;
    const desk = new QuotaDesk(
      lanes,
      () => {},
      () => now,
    );
    desk.observe(lanes.zai!, "lane", 429, [], JSON.stringify({ error: { code: "1310", message: "Weekly/Monthly Limit Exhausted. Your limit will reset at 2099-01-01 00:00:00" } }));
    expect(desk.book.walled("zai", "lane")).toMatchObject({ code: "1310", resetsAt: null });
    now += 61_000;
    expect(desk.book.walled("zai", "lane")).toBeUndefined();
    desk.observe(lanes.zai!, "lane", 200, [["anthropic-ratelimit-unified-5h-reset", "4102444800"]], undefined);
    expect(desk.book.plans()[0]!.windows.get("5h")!.resetsAt).toBeNull();
  });

  test("overage in use is counted once per credential and overage window (ccp_overage_windows_total), where it is logged; allow lanes counted, not logged", () => {
    const both = { anthropic: { name: "anthropic", auth: "passthrough", overage: "warn" }, free: { name: "free", auth: "passthrough", overage: "allow" } } as unknown as Record<string, Lane>;
    const said: string[] = [];
    const desk = new QuotaDesk(
      both,
      (m) => said.push(m),
      () => NOW,
    );
    const overage = (inUse: string, resetS: number): [string, string][] => [
      ["anthropic-ratelimit-unified-overage-status", "allowed"],
      ["anthropic-ratelimit-unified-overage-in-use", inUse],
      ["anthropic-ratelimit-unified-overage-reset", String(resetS)],
    ];
    const first = NOW / 1000 + 3_600;
    const seen = () => Object.fromEntries(desk.overageWindows);
    desk.observe(both.anthropic!, "client:a", 200, overage("true", first), undefined);
    desk.observe(both.anthropic!, "client:a", 200, overage("true", first), undefined);
    expect([seen(), said.length]).toEqual([{ anthropic: 1 }, 1]);
    desk.observe(both.anthropic!, "client:b", 200, overage("true", first), undefined);
    desk.observe(both.anthropic!, "client:a", 200, overage("false", first + 3_600), undefined);
    desk.observe(both.anthropic!, "client:a", 200, overage("true", first + 3_600), undefined);
    expect([seen(), said.length]).toEqual([{ anthropic: 3 }, 3]);
    desk.observe(both.free!, "client:a", 200, overage("true", first), undefined);
    expect([seen(), said.length]).toEqual([{ anthropic: 3, free: 1 }, 3]);
  });

  test("window names from headers are bounded: odd names are skipped, at most 12 per answer", () => {
    const headers: [string, string][] = Array.from({ length: 50 }, (_, i) => [`anthropic-ratelimit-unified-w${i}-utilization`, "0.5"]);
    headers.push(["anthropic-ratelimit-unified-Bad Name!-utilization", "0.5"]);
    expect(parseUnified(headers, NOW)!.windows).toHaveLength(12);
  });
});
