import { describe, expect, test } from "bun:test";
import { renderQuota } from "../../src/cli/commands/quota.ts";
import { ago, laneMarks, lanePlan, level, marksText, percent, resetsIn, shortUse, span } from "../../src/cli/quota-format.ts";
import type { PlanBody, QuotaBody } from "../../src/ops/quota-body.ts";
import { keyFromCustomHeaders, quotaPath } from "../../src/ops/quota-ask.ts";
import { NOW, QUOTA } from "../support/quota-stub.ts";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("durations, percentages, ages", () => {
  for (const [ms, text] of [
    [0, "0s"],
    [-5 * S, "0s"],
    [45 * S + 900, "45s"],
    [12 * M + 59 * S, "12m"],
    [2 * H, "2h"],
    [2 * H + 10 * M + 30 * S, "2h10m"],
    [23 * H + 59 * M, "23h59m"],
    [D, "1d"],
    [4 * D + 3 * H + 20 * M, "4d3h"],
  ] as const) {
    test(`span(${ms}) = ${text}`, () => expect(span(ms)).toBe(text));
  }

  test("resets in: '-' when unknown, 'now' once past, else the span", () => {
    expect(resetsIn(null, NOW)).toBe("-");
    expect(resetsIn(NOW - 1, NOW)).toBe("now");
    expect(resetsIn(NOW, NOW)).toBe("now");
    expect(resetsIn(NOW + 130 * M, NOW)).toBe("2h10m");
  });

  test("an age reads '12s ago'", () => {
    expect(ago(NOW - 12 * S, NOW)).toBe("12s ago");
    expect(ago(NOW - 3 * H, NOW)).toBe("3h ago");
  });

  test("a fraction is a whole percentage, past 100% too; unknown is '-'", () => {
    expect(percent(0.42)).toBe("42%");
    expect(percent(0.004)).toBe("0%");
    expect(percent(1.125)).toBe("113%");
    expect(percent(0)).toBe("0%");
    expect(percent(null)).toBe("-");
    expect(percent(Number.NaN)).toBe("-");
  });

  test("level: the window's status first, else 70% and 90% marks", () => {
    expect(level({ utilization: 0.5, status: "allowed" })).toBe("ok");
    expect(level({ utilization: 0.7, status: "allowed" })).toBe("warn");
    expect(level({ utilization: 0.1, status: "allowed_warning" })).toBe("warn");
    expect(level({ utilization: 0.9, status: "allowed" })).toBe("bad");
    expect(level({ utilization: null, status: "rejected" })).toBe("bad");
    expect(level({ utilization: null, status: "unknown" })).toBe("ok");
  });
});

describe("which plan speaks for a lane", () => {
  const plan = (credential: string, readAt: number, u: number): PlanBody => ({
    ...QUOTA.plans[1]!,
    credential,
    windows: [{ window: "5h", utilization: u, resets_at: null, status: "allowed", source: "headers", read_at: readAt }],
  });

  test("the credential read most recently; undefined for a lane not listed", () => {
    const body = { plans: [plan("client:a", NOW - 10 * M, 0.1), plan("client:b", NOW - M, 0.2), plan("client:c", NOW - 5 * M, 0.3)] };
    expect(lanePlan(body, "anthropic")?.credential).toBe("client:b");
    expect(lanePlan(body, "nope")).toBeUndefined();
  });

  test("shortUse: 5h / 7d, '-' for a missing window, '-' without readings", () => {
    expect(shortUse(lanePlan(QUOTA, "zai"))).toBe("42% / 13%");
    expect(shortUse(lanePlan(QUOTA, "anthropic"))).toBe("102% / -");
    expect(shortUse(lanePlan(QUOTA, "backup"))).toBe("-");
    expect(shortUse(undefined)).toBe("-");
  });
  test("ccp status's marks: walled with the wall's reset, overage in use; a blocked overage walls until the overage resets", () => {
    const anthropic = QUOTA.plans[1]!;
    expect(laneMarks(lanePlan(QUOTA, "zai"), NOW)).toEqual({ walled: false, wall_resets_at: null, overage_in_use: false });
    expect(laneMarks(anthropic, NOW)).toEqual({ walled: true, wall_resets_at: NOW + 45 * M, overage_in_use: true });
    expect(marksText(laneMarks(anthropic, NOW), NOW)).toEqual(["walled ↻45m", "overage"]);
    const blocked: PlanBody = { ...anthropic, wall: { window: "5h", resets_at: NOW - M, code: "rejected" }, overage: { in_use: true, status: null, utilization: null, resets_at: NOW + 2 * H } };
    expect(marksText(laneMarks(blocked, NOW), NOW)).toEqual(["walled ↻2h", "overage"]);
    expect(marksText(laneMarks({ ...anthropic, wall: { window: "7d", resets_at: null, code: "1310" }, overage: null }, NOW), NOW)).toEqual(["walled"]);
    expect(marksText(laneMarks(undefined, NOW), NOW)).toEqual([]);
  });
});

describe("ccp quota's table", () => {
  const text = renderQuota(QUOTA);
  const lines = text.split("\n");

  test("one row per plan and window: lane, credential, window, used, resets in, status, source, age", () => {
    expect(lines[0]!.split(/\s{2,}/)).toEqual(["lane", "credential", "window", "used", "resets in", "status", "source", "age"]);
    const rows = lines.slice(1, 5).map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ["zai", "lane", "5h", "42%", "2h10m", "allowed", "endpoint", "12s ago"],
      ["zai", "lane", "7d", "13%", "4d3h", "allowed", "endpoint", "12s ago"],
      ["anthropic", "client:3f9a0c1b2d4e", "5h", "102%", "45m", "rejected", "headers", "1m ago"],
      ["backup", "none", "-", "-", "-", "no reading yet", "-", "-"],
    ]);
  });

  test("then a line per wall, overage reading and failing quota endpoint", () => {
    expect(lines.slice(6)).toEqual([
      "wall     anthropic (client:3f9a0c1b2d4e): 5h limit reached (rejected); resets in 45m",
      "overage  anthropic (client:3f9a0c1b2d4e): in use, status allowed, 12% used, lane setting warn",
      "poll     backup: its quota endpoint is failing; no reading yet",
    ]);
  });

  test("a wall without a reset time, a refusal for overage, old readings behind a failing poll", () => {
    const zai = QUOTA.plans[0]!;
    const body: QuotaBody = {
      ...QUOTA,
      plans: [
        { ...zai, state: "walled", wall: { window: "7d", resets_at: null, code: "1310" }, poll: "failing" },
        { ...QUOTA.plans[1]!, wall: null, overage_setting: "block", overage: { in_use: false, status: null, utilization: null, resets_at: NOW + D } },
      ],
    };
    const notes = renderQuota(body).split("\n\n")[1]!.split("\n");
    expect(notes).toEqual([
      "wall     zai (lane): 7d limit reached (1310); the provider did not say when it resets",
      "wall     anthropic (client:3f9a0c1b2d4e): refused while it uses extra usage (overage = block)",
      "overage  anthropic (client:3f9a0c1b2d4e): not in use, resets in 1d, lane setting block",
      "poll     zai: its quota endpoint is failing; its readings may be old",
    ]);
  });

  test("no notes, no blank line; no plans at all says so", () => {
    expect(renderQuota({ ...QUOTA, plans: [QUOTA.plans[0]!] })).not.toContain("\n\n");
    expect(renderQuota({ ...QUOTA, plans: [] })).toBe("no lanes");
  });
});

describe("asking a ccp", () => {
  test("the model goes in the query, encoded", () => {
    expect(quotaPath(undefined)).toBe("/quota");
    expect(quotaPath("claude-sonnet-4-6")).toBe("/quota?model=claude-sonnet-4-6");
    expect(quotaPath("a b&c")).toBe("/quota?model=a%20b%26c");
  });

  test("the proxy key ccp wrap put in ANTHROPIC_CUSTOM_HEADERS", () => {
    expect(keyFromCustomHeaders(undefined)).toBeUndefined();
    expect(keyFromCustomHeaders("X-Team: a\nx-ccp-key: k-123  \nOther: b")).toBe("k-123");
    expect(keyFromCustomHeaders("X-CCP-Key:k")).toBe("k");
    expect(keyFromCustomHeaders("x-ccp-keys: no\nx-ccp-key:")).toBeUndefined();
  });
});
