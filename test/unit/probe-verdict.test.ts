import { describe, expect, test } from "bun:test";
import { resolveModel } from "../../src/ops/probe-models.ts";
import { judge, percentile, type ProbeRow } from "../../src/ops/probe-verdict.ts";

const row = (over: Partial<ProbeRow> = {}): ProbeRow => ({
  run: 1,
  role: "main",
  model: "m",
  status: 200,
  lane: "zai",
  h2: false,
  ttft_ms: 100,
  duration_ms: 200,
  rid: "ccp_x",
  statuses: [200],
  error: null,
  ...over,
});

describe("percentile (nearest rank)", () => {
  test.each([
    [[], 50, null],
    [[7], 50, 7],
    [[1, 2], 50, 1],
    [[3, 1, 2], 50, 2],
    [[4, 1, 3, 2], 50, 2],
    [[5, 1, 4, 2, 3], 50, 3],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
  ] as [number[], number, number | null][])("%p p%p = %p", (values, p, want) => {
    expect(percentile(values, p)).toBe(want);
  });
});

describe("probe verdict", () => {
  const criteria = { maxP50TtftMs: 500 };

  test("all 200 and fast: pass, no reasons", () => {
    const v = judge([row({ run: 1, ttft_ms: 100 }), row({ run: 2, ttft_ms: 300 }), row({ run: 3, ttft_ms: 900 })], criteria);
    expect(v).toEqual({ pass: true, p50_ttft_ms: 300, reasons: [] });
  });

  test("a 502 fails the run", () => {
    const v = judge([row(), row({ run: 2, status: 502, statuses: [502], ttft_ms: null })], criteria);
    expect(v.pass).toBe(false);
    expect(v.reasons).toEqual(["run 2: status 502"]);
  });

  test("a 502 hidden behind a retry still fails", () => {
    const v = judge([row({ statuses: [502, 200] })], criteria);
    expect(v.reasons).toEqual(["run 1: 1 upstream 502 recorded before it succeeded"]);
  });

  test("p50 at or over the limit fails; ttft only from main runs", () => {
    const v = judge([row({ ttft_ms: 600 }), row({ run: 2, ttft_ms: 500 }), row({ role: "also", ttft_ms: 1 }), row({ run: 2, role: "also", ttft_ms: 1 })], criteria);
    expect(v.p50_ttft_ms).toBe(500);
    expect(v.reasons).toEqual(["p50 ttft 500 ms is not under the limit of 500 ms"]);
  });

  test("expected lane and protocol apply to main runs only", () => {
    const rows = [row({ lane: "anthropic", h2: true }), row({ run: 2 }), row({ role: "also", lane: "anthropic", h2: true })];
    const v = judge(rows, { ...criteria, expectLane: "zai", expectH2: false });
    expect(v.reasons).toEqual(["expected lane zai, got anthropic on run 1", "expected h2=false, got h2=true on run 1"]);
  });

  test("an unmatched run, a client error and an unhealthy --also run fail", () => {
    const v = judge(
      [
        row({ status: null, statuses: [], ttft_ms: null, error: "claude exited 1: boom" }),
        row({ run: 2, error: "claude: API Error" }),
        row({ run: 2, role: "also", model: "s", status: 529, statuses: [529] }),
      ],
      criteria,
    );
    expect(v.reasons).toEqual(["run 1: no usage line matched (claude exited 1: boom)", "run 2: claude: API Error", "run 2 (--also s): status 529"]);
  });

  test("no ttft at all fails", () => {
    expect(judge([row({ ttft_ms: null })], criteria).reasons).toEqual(["no time to first token was measured"]);
  });
});

describe("model aliases", () => {
  test("resolve to current ids, overridable, anything else passes through", () => {
    expect(resolveModel("haiku", {})).toBe("claude-haiku-4-5-20251001");
    expect(resolveModel("Sonnet", {})).toMatch(/^claude-sonnet-/);
    expect(resolveModel("opus", { opus: "claude-opus-next" })).toBe("claude-opus-next");
    expect(resolveModel("glm-4.6", { haiku: "x" })).toBe("glm-4.6");
  });
});
