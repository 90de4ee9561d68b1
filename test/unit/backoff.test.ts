import { expect, test } from "bun:test";
import { fullJitterMs, parseRetryAfter } from "../../src/resilience/backoff.ts";

test("full jitter: uniform below min(cap, base·2ⁿ)", () => {
  expect(fullJitterMs(0, 500, 8000, () => 0)).toBe(0);
  expect(fullJitterMs(0, 500, 8000, () => 0.999)).toBe(499);
  expect(fullJitterMs(3, 500, 8000, () => 0.5)).toBe(2000);
  expect(fullJitterMs(10, 500, 8000, () => 0.999)).toBe(7992); // capped
  for (let i = 0; i < 1000; i++) {
    const w = fullJitterMs(2, 500, 8000);
    expect(w).toBeGreaterThanOrEqual(0);
    expect(w).toBeLessThan(2000);
  }
});

test("retry-after: seconds, fractions, HTTP dates, garbage", () => {
  const now = Date.parse("2026-11-21T10:00:00Z");
  expect(parseRetryAfter("1", now)).toBe(1000);
  expect(parseRetryAfter(" 2.5 ", now)).toBe(2500);
  expect(parseRetryAfter("Sat, 21 Nov 2026 10:00:30 GMT", now)).toBe(30_000);
  expect(parseRetryAfter("Sat, 21 Nov 2026 09:00:00 GMT", now)).toBe(0);
  expect(parseRetryAfter("soon", now)).toBeUndefined();
  expect(parseRetryAfter(undefined, now)).toBeUndefined();
  expect(parseRetryAfter("-1", now)).toBeUndefined();
});
