import { describe, expect, test } from "bun:test";
import { appendFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fallbackOf, matchesFilter, parseSince, retriesOf, statusMatcher } from "../../src/ops/usage-filter.ts";
import { readSince, tailAcrossRotations, tailLines } from "../../src/ops/usage-log.ts";
import { scratchDir } from "../support/ccp.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");

describe("usage filters", () => {
  test("--since: durations and dates", () => {
    expect(parseSince("1h", NOW)).toBe(NOW - 3_600_000);
    expect(parseSince("30m", NOW)).toBe(NOW - 1_800_000);
    expect(parseSince("2d", NOW)).toBe(NOW - 2 * 86_400_000);
    expect(parseSince("2025-06-01T11:00:00Z", NOW)).toBe(NOW - 3_600_000);
    expect(parseSince("soon", NOW)).toBeUndefined();
  });

  test("--status: exact or class", () => {
    expect(statusMatcher("502")!(502)).toBe(true);
    expect(statusMatcher("5xx")!(529)).toBe(true);
    expect(statusMatcher("5xx")!(429)).toBe(false);
    expect(statusMatcher("abc")).toBeUndefined();
  });

  test("lane, errors, status and since combine", () => {
    const line = { ts: "2025-06-01T11:30:00Z", lane: "zai", status: 529, err_type: "overloaded_error" };
    expect(matchesFilter(line, { lane: "zai", errors: true, status: "5xx", since: NOW - 3_600_000 })).toBe(true);
    expect(matchesFilter(line, { lane: "anthropic" })).toBe(false);
    expect(matchesFilter(line, { since: NOW - 60_000 })).toBe(false);
    expect(matchesFilter({ status: 200, err_type: null }, { errors: true })).toBe(false);
    expect(matchesFilter({ status: 200, err_type: "stream_error" }, { errors: true })).toBe(true);
  });

  test("retries and fallback from the record, or from its attempts on older lines", () => {
    expect(retriesOf({ retries: 2 })).toBe(2);
    expect(retriesOf({ attempts: [{}, {}, {}] as never })).toBe(2);
    expect(fallbackOf({ lane: "anthropic", fallback_from: "zai" })).toBe("zai");
    expect(fallbackOf({ lane: "anthropic", attempts: [{ lane: "zai" }, { lane: "anthropic" }] as never })).toBe("zai");
    expect(fallbackOf({ lane: "zai", attempts: [{ lane: "zai" }] as never })).toBeNull();
  });
});

describe("reading usage.jsonl", () => {
  const line = (i: number, lane = i % 2 ? "zai" : "anthropic") => `${JSON.stringify({ rid: `r${i}`, lane, status: 200, pad: "x".repeat(300) })}\n`;

  test("tail reads backwards across chunk borders, filters, keeps order, skips torn lines", () => {
    const file = join(scratchDir(), "usage.jsonl");
    writeFileSync(file, `not json\n${Array.from({ length: 1000 }, (_, i) => line(i)).join("")}`);
    expect(tailLines(file, 3, () => true).map((l) => l.record.rid)).toEqual(["r997", "r998", "r999"]);
    expect(tailLines(file, 2, (r) => r.lane === "anthropic").map((l) => l.record.rid)).toEqual(["r996", "r998"]);
    expect(tailLines(file, 5000, () => true).length).toBe(1000);
    expect(tailLines(join(scratchDir(), "missing.jsonl"), 5, () => true)).toEqual([]);
  });

  test("a tail longer than the current log continues into the rotated files, oldest first", () => {
    const file = join(scratchDir(), "usage.jsonl");
    writeFileSync(`${file}.2`, line(1) + line(2));
    writeFileSync(`${file}.1`, line(3) + line(4));
    writeFileSync(file, line(5));
    expect(tailAcrossRotations(file, 4, () => true).map((l) => l.record.rid)).toEqual(["r2", "r3", "r4", "r5"]);
    expect(tailAcrossRotations(file, 99, () => true)).toHaveLength(5);
    expect(tailAcrossRotations(file, 1, () => true).map((l) => l.record.rid)).toEqual(["r5"]);
  });

  test("a tail bounded at an offset, then readSince from it: a line appended in between is seen once (usage --follow)", () => {
    const file = join(scratchDir(), "usage.jsonl");
    writeFileSync(file, line(1) + line(2));
    const end = statSync(file).size;
    appendFileSync(file, line(3)); // written while the tail was printing
    expect(tailAcrossRotations(file, 5, () => true, end).map((l) => l.record.rid)).toEqual(["r1", "r2"]);
    expect(readSince(file, end).records.map((r) => r.rid)).toEqual(["r3"]);
  });

  test("readSince returns only complete new lines and where to continue", () => {
    const file = join(scratchDir(), "usage.jsonl");
    writeFileSync(file, line(1));
    const first = readSince(file, 0);
    expect(first.records.map((r) => r.rid)).toEqual(["r1"]);
    appendFileSync(file, line(2) + line(3).slice(0, 20));
    const second = readSince(file, first.offset);
    expect(second.records.map((r) => r.rid)).toEqual(["r2"]);
    appendFileSync(file, line(3).slice(20));
    expect(readSince(file, second.offset).records.map((r) => r.rid)).toEqual(["r3"]);
    writeFileSync(file, line(9));
    expect(readSince(file, 100_000).records.map((r) => r.rid)).toEqual(["r9"]);
  });
});
