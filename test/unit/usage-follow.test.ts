import { describe, expect, test } from "bun:test";
import { followLines } from "../../src/cli/commands/usage.ts";
import type { UsageLine } from "../../src/ops/usage-filter.ts";

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Where each header word starts: where each row's cell must start too. */
const columnStarts = (header: string) => {
  const starts: number[] = [];
  for (const m of header.matchAll(/\S+/g)) starts.push(m.index);
  return starts;
};

const ts = "2025-06-01T12:00:00Z";
const records: UsageLine[] = [
  {
    ts,
    lane: "zai",
    model: "claude-haiku-4-5-20251001",
    status: 200,
    h2: false,
    ttft_ms: 310,
    latency_ms: 912,
    input_tokens: 12,
    output_tokens: 3,
    retries: 0,
  },
  // Every cell wider than the first row's: a long lane and model, six-digit counts, a retry, a note.
  {
    ts,
    lane: "a-very-long-lane-name-indeed",
    model: "claude-sonnet-4-5-20250929-with-a-suffix-of-some-length",
    status: 529,
    h2: true,
    ttft_ms: 123_456,
    latency_ms: 1_234_567,
    input_tokens: 198_765,
    output_tokens: 64_000,
    retries: 3,
    failure_class: "headers_timeout",
    err_type: "overloaded_error",
  },
  // And narrower ones: nothing known.
  { ts: "not a date", lane: null, model: null, status: 0, h2: null, ttft_ms: null, latency_ms: 0, input_tokens: null, output_tokens: null },
];

describe("usage --follow", () => {
  test("rows printed one at a time start every column where the header printed first put it", () => {
    const [header, ...tail] = followLines([records[0]!], true).map(strip);
    const later = records
      .slice(1)
      .flatMap((r) => followLines([r], false))
      .map(strip);
    const starts = columnStarts(header!);
    expect(header!.split(/\s+/)).toEqual(["time", "lane", "model", "status", "protocol", "ttft", "ms", "tokens", "retries", "notes"]);
    for (const row of [...tail, ...later]) {
      // The cell before each column ends in time (a space at least), and something starts exactly there.
      for (const at of starts.slice(1, -1)) {
        expect(row[at - 1]).toBe(" ");
        expect(row[at]).not.toBe(" ");
      }
    }
    const wide = later[0]!;
    const cell = (i: number) => wide.slice(starts[i], starts[i + 1]).trim();
    expect([cell(3), cell(4), cell(5), cell(6), cell(7), cell(8)]).toEqual(["529", "h2", "123456", "1234567", "198765/64000", "3"]);
    // Too long for its column: cut, and says so.
    expect(cell(1)).toBe("a-very-long…");
    expect(cell(2)).toStartWith("claude-sonnet-4-5-20250929");
    expect(cell(2)).toEndWith("…");
    // The last column is never cut.
    expect(wide.slice(starts[9])).toBe("headers_timeout overloaded_error");
  });

  test("with no header asked, only the rows", () => {
    expect(followLines(records, false)).toHaveLength(3);
    expect(followLines([], true)).toHaveLength(1);
  });
});
