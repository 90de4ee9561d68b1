import { describe, expect, test } from "bun:test";
import { draftRecord } from "../../src/usage/draft.ts";
import type { UsageRecord } from "../../src/usage/record.ts";
import { LATEST_KEPT, MAX_KEPT, RecentRequests } from "../../src/usage/recent.ts";

const MINUTE = 60_000;
let n = 0;
const rec = (o: Partial<UsageRecord>): UsageRecord => ({
  ...draftRecord(`ccp_${n++}`, "messages", "default", 1),
  lane: "zai",
  model: "m",
  status: 200,
  latency_ms: 10,
  ...o,
});

/** A RecentRequests on a clock the test moves. */
function clocked(start = 1_000 * MINUTE) {
  const clock = { now: start };
  return { clock, recent: new RecentRequests(() => clock.now) };
}

describe("recent requests (the dashboard's last hour)", () => {
  test("latest is newest first, capped, and only the last hour", () => {
    const { clock, recent } = clocked();
    recent.write(rec({ rid: "old" }));
    clock.now += 61 * MINUTE;
    for (let i = 0; i < 5; i++) recent.write(rec({ rid: `r${i}`, ttft_ms: i }));
    expect(recent.latest(3).map((r) => r.rid)).toEqual(["r4", "r3", "r2"]);
    expect(recent.latest(50).map((r) => r.rid)).toEqual(["r4", "r3", "r2", "r1", "r0"]);
    for (let i = 0; i < LATEST_KEPT + 20; i++) recent.write(rec({ rid: `s${i}` }));
    expect(recent.latest(1_000)).toHaveLength(LATEST_KEPT);
    expect(recent.latest(1)[0]!.rid).toBe(`s${LATEST_KEPT + 19}`);
  });

  test("counts and ttft percentiles cover the window, with requests that had no ttft counted but not measured", () => {
    const { clock, recent } = clocked();
    recent.write(rec({ ttft_ms: 999 })); // leaves the hour below
    clock.now += 61 * MINUTE;
    for (let i = 1; i <= 100; i++) recent.write(rec({ ttft_ms: i }));
    recent.write(rec({ ttft_ms: null, status: 502 }));
    expect(recent.countSince(5 * MINUTE)).toBe(101);
    expect(recent.hourTtft()).toEqual({ p50: 50, p95: 95, p99: 99, n: 100 });
    clock.now += 6 * MINUTE;
    expect(recent.countSince(5 * MINUTE)).toBe(0);
    expect(recent.hourTtft().n).toBe(100);
  });

  test("perMinute buckets the hour into 60 points, oldest first", () => {
    const { clock, recent } = clocked(1_000 * MINUTE + 30_000);
    recent.write(rec({ ttft_ms: 10 }));
    recent.write(rec({ ttft_ms: 30 }));
    clock.now += 2 * MINUTE;
    recent.write(rec({ ttft_ms: null }));
    const points = recent.perMinute();
    expect(points).toHaveLength(60);
    expect(points.at(-1)).toEqual({ t: 1_002 * MINUTE, requests: 1, p50: null, p95: null, p99: null });
    expect(points.at(-3)).toEqual({ t: 1_000 * MINUTE, requests: 2, p50: 10, p95: 30, p99: 30 });
    expect(points.reduce((a, p) => a + p.requests, 0)).toBe(3);
    expect(points[1]!.t - points[0]!.t).toBe(MINUTE);
  });

  test("past MAX_KEPT requests the oldest drop out and the counts stay right", () => {
    const { recent } = clocked();
    for (let i = 0; i < MAX_KEPT + 10; i++) recent.write(rec({ ttft_ms: i < 10 ? 1_000_000 : 1 }));
    expect(recent.countSince(MINUTE)).toBe(MAX_KEPT);
    // The ten slow ones were the oldest: gone, so even the top percentile is a fast one.
    expect(recent.hourTtft()).toEqual({ p50: 1, p95: 1, p99: 1, n: MAX_KEPT });
  });
});
