import { describe, expect, test } from "bun:test";
import { resolveModel } from "../../src/ops/probe-models.ts";
import { judge, percentile, type ProbeRow } from "../../src/ops/probe-verdict.ts";
import { rowFrom } from "../../src/ops/probe-run.ts";
import { expectedProtocol } from "../../src/cli/commands/probe.ts";

const row = (over: Partial<ProbeRow> = {}): ProbeRow => ({
  run: 1,
  role: "main",
  model: "m",
  status: 200,
  lane: "zai",
  protocol: "h1",
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

  test("expected lane and protocol apply to main runs only; the verdict says protocol, and none for a run nothing answered", () => {
    const rows = [
      row({ lane: "anthropic", protocol: "h2", h2: true }),
      row({ run: 2 }),
      row({ run: 3, protocol: "none", h2: null }),
      row({ role: "also", lane: "anthropic", protocol: "h2", h2: true }),
    ];
    const v = judge(rows, { ...criteria, expectLane: "zai", expectProtocol: "h1" });
    expect(v.reasons).toEqual(["expected lane zai, got anthropic on run 1", "expected protocol h1, got h2 on run 1, none on run 3"]);
  });

  test("--expect-h2 is --expect-protocol's older spelling; --expect-protocol wins", () => {
    expect(expectedProtocol({})).toBeUndefined();
    expect(expectedProtocol({ expectH2: true })).toBe("h2");
    expect(expectedProtocol({ expectH2: false })).toBe("h1");
    expect(expectedProtocol({ expectProtocol: "h1", expectH2: true })).toBe("h1");
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

describe("a probe row's protocol", () => {
  const c = { run: 1, role: "main" as const, model: "m" };
  test("is answeredOver's: the answering (last) attempt's protocol, else the legacy h2 flag, else none; h2 kept beside it", () => {
    const retried = rowFrom(c, [{ rid: "a", status: 200, h2: true, attempts: [{ protocol: "h2" }, { protocol: "h1" }] as never }], null);
    expect([retried.protocol, retried.h2]).toEqual(["h1", true]);
    const legacy = rowFrom(c, [{ rid: "b", status: 200, h2: true }], null);
    expect([legacy.protocol, legacy.h2]).toEqual(["h2", true]);
    const unsent = rowFrom(c, [{ rid: "c", status: 400, h2: null, attempts: [] }], null);
    expect([unsent.protocol, unsent.h2]).toEqual(["none", null]);
    const unmatched = rowFrom(c, [], "claude exited 1");
    expect([unmatched.protocol, unmatched.h2]).toEqual(["none", null]);
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
