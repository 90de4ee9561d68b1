import { describe, expect, test } from "bun:test";
import { JsonlSink } from "../../src/usage/jsonl-sink.ts";
import { percentile } from "../../src/usage/percentile.ts";
import { SqliteSink } from "../../src/usage/sqlite-sink.ts";
import { usageDbPath } from "../../src/usage/sqlite-store.ts";
import { loadStatInputs, usageJsonlPath } from "../../src/usage/stats-source.ts";
import { computeStats, GROUP_BY, parseDuration, type StatInput } from "../../src/usage/stats.ts";
import { scratchDir } from "../support/ccp.ts";
import { generateRecords } from "../support/usage-records.ts";

const input = (o: Partial<StatInput>): StatInput => ({
  ts_ms: 0,
  lane: "zai",
  model: "m",
  status: 200,
  h2: false,
  ttft_ms: null,
  latency_ms: 0,
  input_tokens: null,
  output_tokens: null,
  cache_read_input_tokens: null,
  cache_creation_input_tokens: null,
  failure_class: null,
  err_type: null,
  instance: null,
  client: null,
  session_id: null,
  route: null,
  route_name: null,
  attempts: [{ lane: "zai", protocol: "h1" }],
  ...o,
});

describe("statistics (pure)", () => {
  test("nearest-rank percentiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 95), percentile(xs, 99), percentile(xs, 100)]).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  test("per group: requests, error rate, ttft and duration percentiles, retries, fallbacks, tokens", () => {
    const rs = [
      input({ ttft_ms: 100, latency_ms: 1000, input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 5 }),
      input({
        ttft_ms: 300,
        latency_ms: 3000,
        input_tokens: 20,
        output_tokens: 4,
        attempts: [
          { lane: "zai", protocol: "h2" },
          { lane: "zai", protocol: "h1" },
        ],
      }),
      input({
        status: 529,
        latency_ms: 50,
        attempts: [
          { lane: "zai", protocol: "h1" },
          { lane: "zai", protocol: "h1" },
          { lane: "zai", protocol: "h1" },
        ],
      }),
      input({
        lane: "anthropic",
        h2: true,
        ttft_ms: 50,
        latency_ms: 500,
        failure_class: "reset",
        attempts: [
          { lane: "zai", protocol: "h1" },
          { lane: "anthropic", protocol: "h2" },
        ],
      }),
    ];
    const [zai, anthropic] = computeStats(rs, { by: "lane" });
    expect(zai).toEqual({
      key: "zai",
      requests: 3,
      errors: 1,
      error_rate: 1 / 3,
      ttft_ms: { p50: 100, p95: 300, p99: 300 },
      duration_ms: { p50: 1000, p95: 3000, p99: 3000 },
      retries: 3,
      fallbacks: 0,
      input_tokens: 30,
      output_tokens: 6,
      cache_read_input_tokens: 5,
      cache_creation_input_tokens: 0,
    });
    expect(anthropic).toMatchObject({ key: "anthropic", requests: 1, errors: 1, retries: 1, fallbacks: 1 });
    expect(computeStats(rs, { by: "protocol" }).map((g) => [g.key, g.requests])).toEqual([
      ["h1", 3],
      ["h2", 1],
    ]);
    expect(computeStats(rs, { by: "status" }).map((g) => [g.key, g.requests])).toEqual([
      ["200", 3],
      ["529", 1],
    ]);
    expect(computeStats(rs)).toHaveLength(1);
    expect(computeStats([])).toEqual([]);
  });

  test("--by route: the index and name of the route that matched; a lane picked by name (no route) is -", () => {
    const rs = [input({ route: 0, route_name: "long-context" }), input({ route: 0, route_name: "long-context" }), input({ route: 2 }), input({ route: null, model: "zai/glm-4.6" })];
    expect(computeStats(rs, { by: "route" }).map((g) => [g.key, g.requests])).toEqual([
      ["0:long-context", 2],
      ["-", 1],
      ["2", 1],
    ]);
  });

  test("--since durations", () => {
    expect([parseDuration("1h"), parseDuration("24h"), parseDuration("7d"), parseDuration("30m"), parseDuration("1.5h")]).toEqual([3_600_000, 86_400_000, 604_800_000, 1_800_000, 5_400_000]);
    expect(parseDuration("yesterday")).toBeUndefined();
    expect(parseDuration("1")).toBeUndefined();
  });
});

describe("SQLite and usage.jsonl give the same numbers on the same data", () => {
  test("every --by, with and without --since", async () => {
    const home = scratchDir();
    const now = Date.now();
    const records = generateRecords(400, now, 3 * 86_400_000, 11);
    const jsonl = new JsonlSink(usageJsonlPath(home, "default"), undefined, { maxBytes: 60_000, keep: 50 });
    const db = new SqliteSink(usageDbPath(home), { retentionDays: 30 });
    for (const [i, r] of records.entries()) {
      jsonl.write(r);
      db.write(r);
      if (i % 20 === 19) await jsonl.flush();
    }
    await jsonl.flush();
    db.close();
    for (const sinceMs of [undefined, now - 86_400_000, now - 3_600_000]) {
      const a = loadStatInputs({ home, profile: "default", persist: true, keep: 50, sinceMs });
      const b = loadStatInputs({ home, profile: "default", persist: false, keep: 50, sinceMs });
      expect([a.kind, b.kind]).toEqual(["sqlite", "jsonl"]);
      expect(b.paths.length).toBeGreaterThan(1); // the rotated files are read too
      expect(a.records.length).toBe(b.records.length);
      for (const by of [undefined, ...GROUP_BY]) expect(computeStats(a.records, { by })).toEqual(computeStats(b.records, { by }));
    }
    const all = computeStats(loadStatInputs({ home, profile: "default", persist: true, keep: 50 }).records);
    expect(all[0]!.requests).toBe(400);
  });
});
