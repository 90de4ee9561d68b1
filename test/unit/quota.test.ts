import { describe, expect, test } from "bun:test";
import { parseUnified } from "../../src/quota/unified.ts";
import { parseResetTime, parseZaiQuota, zaiWall } from "../../src/quota/zai.ts";

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
