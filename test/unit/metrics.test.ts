import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { newLiveState } from "../../src/usage/live.ts";
import { LaneHealth } from "../../src/usage/lane-health.ts";
import { Registry } from "../../src/usage/metrics-registry.ts";
import { MetricsSink } from "../../src/usage/metrics-sink.ts";
import { draftRecord } from "../../src/usage/draft.ts";
import type { AttemptRecord, UsageRecord } from "../../src/usage/record.ts";
import { parseExposition, sample } from "../support/prometheus.ts";

const attempt = (lane: string, protocol: "h1" | "h2", outcome: AttemptRecord["outcome"], code: string | null = null): AttemptRecord => ({
  lane,
  protocol,
  outcome,
  status: outcome === "ok" ? 200 : null,
  ms: 5,
  wait_ms: 0,
  code,
});

function rec(o: Partial<UsageRecord>): UsageRecord {
  return { ...draftRecord(`ccp_${Math.random()}`, "messages", "default", 1), lane: "zai", model: "m", status: 200, latency_ms: 1500, ...o };
}

describe("registry", () => {
  test("renders HELP, TYPE and escaped labels that a real parser reads back", async () => {
    const r = new Registry();
    const c = r.register({ name: "x_total", type: "counter", help: "a \\ help\nline", labels: ["a"] });
    c.inc({ a: 'q"uo\\te\nnl' }, 2);
    const h = r.register({ name: "x_seconds", type: "histogram", help: "h", labels: ["lane"], buckets: [0.1, 1] });
    h.observe({ lane: "z" }, 0.05);
    h.observe({ lane: "z" }, 5);
    const fams = await parseExposition(r.render());
    expect(fams.families.find((f) => f.name === "x_total")!.metrics[0]!.labels).toEqual({ a: 'q"uo\\te\nnl' });
    expect(sample(fams, "x_seconds", { lane: "z" })).toBe(2);
    expect(fams.text).toContain(`x_seconds_bucket{lane="z",le="0.1"} 1\nx_seconds_bucket{lane="z",le="1"} 1\nx_seconds_bucket{lane="z",le="+Inf"} 2\nx_seconds_sum{lane="z"} 5.05`);
  });

  test("a metric is declared once, and counters end in _total", () => {
    const r = new Registry();
    r.register({ name: "a_total", type: "counter", help: "h", labels: [] });
    expect(() => r.register({ name: "a_total", type: "counter", help: "h", labels: [] })).toThrow("declared twice");
    expect(() => r.register({ name: "b", type: "counter", help: "h", labels: [] })).toThrow("_total");
  });
});

describe("metrics derived from usage records", () => {
  const live = newLiveState([
    { name: "zai", protocol: "h1" },
    { name: "anthropic", protocol: "h2" },
  ]);
  const sink = new MetricsSink(live, new LaneHealth(["zai", "anthropic"]));
  // h2 header timeout, downgrade to h1, burst error 1302, then success: 3 retries, 1 downgrade.
  sink.write(
    rec({
      ttft_ms: 800,
      input_tokens: 10,
      output_tokens: 4,
      cache_read_input_tokens: 3,
      attempts: [attempt("zai", "h2", "headers_timeout"), attempt("zai", "h1", "in_stream_error", "1302"), attempt("zai", "h1", "ok")],
    }),
  );
  // Fallback from zai to anthropic after a connect failure.
  sink.write(rec({ lane: "anthropic", ttft_ms: 200, attempts: [attempt("zai", "h1", "connect"), attempt("anthropic", "h2", "ok")] }));
  // An error event after commit (status 200, attempt ok).
  sink.write(
    rec({
      err_type: "overloaded_error",
      failure_class: "in_stream_error",
      attempts: [{ ...attempt("zai", "h1", "in_stream_error"), code: "overloaded_error" }],
    }),
  );
  // A request that queued, then got a 529.
  sink.write(rec({ status: 529, queue_ms: 250, err_type: "overloaded_error", attempts: [attempt("zai", "h1", "http_status")] }));

  test("counters by lane, protocol and failure class", async () => {
    const f = await parseExposition(sink.render());
    expect(sample(f, "ccp_requests_total")).toBe(4);
    expect(sample(f, "ccp_requests_total", { lane: "zai", status: "200", protocol: "h1" })).toBe(2);
    expect(sample(f, "ccp_requests_total", { lane: "anthropic", protocol: "h2" })).toBe(1);
    expect(sample(f, "ccp_upstream_attempts_total", { lane: "zai", protocol: "h2", outcome: "headers_timeout" })).toBe(1);
    // The error after commit is its attempt's outcome too.
    expect(sample(f, "ccp_upstream_attempts_total", { lane: "zai", protocol: "h1", outcome: "ok" })).toBe(1);
    expect(sample(f, "ccp_upstream_attempts_total") - sample(f, "ccp_upstream_attempts_total", { outcome: "ok" })).toBe(5);
    // Errors are requests: the error after commit and the 529, not the retried attempts.
    expect(sample(f, "ccp_request_errors_total")).toBe(2);
    expect(sample(f, "ccp_retries_total")).toBe(3);
    expect(sample(f, "ccp_h2_downgrades_total", { lane: "zai" })).toBe(1);
    expect(sample(f, "ccp_fallbacks_total", { from: "zai", to: "anthropic" })).toBe(1);
    expect(sample(f, "ccp_in_stream_errors_total", { lane: "zai", code: "1302" })).toBe(1);
    expect(sample(f, "ccp_in_stream_errors_total", { lane: "zai", code: "overloaded_error" })).toBe(1);
    expect(sample(f, "ccp_in_stream_errors_total")).toBe(2);
    expect(sample(f, "ccp_queue_wait_seconds", { lane: "zai" })).toBe(1);
    expect(sample(f, "ccp_ttft_seconds", { lane: "zai" })).toBe(1);
    expect(sample(f, "ccp_request_duration_seconds")).toBe(4);
    expect(sample(f, "ccp_tokens_total", { lane: "zai", type: "input" })).toBe(10);
    expect(sample(f, "ccp_tokens_total", { type: "cache_read" })).toBe(3);
  });

  test("gauges read the live state at scrape time", async () => {
    live.inflight = 3;
    live.lanes.get("zai")!.queueDepth = 2;
    live.lanes.get("zai")!.protocol = "h2";
    const f = await parseExposition(sink.render());
    expect(sample(f, "ccp_inflight_requests")).toBe(3);
    expect(sample(f, "ccp_queue_depth", { lane: "zai" })).toBe(2);
    expect(sample(f, "ccp_lane_protocol", { lane: "zai", protocol: "h2" })).toBe(1);
    expect(sample(f, "ccp_lane_protocol", { lane: "zai", protocol: "h1" })).toBe(0);
    live.inflight = 0;
  });

  test("README's metrics table lists exactly the declared metrics, with their types", () => {
    const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");
    const documented = [...readme.matchAll(/^\| `(ccp_[a-z0-9_]+)` \| (counter|gauge|histogram) \|/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(documented.sort()).toEqual(sink.registry.specs.map((s) => `${s.name} ${s.type}`).sort());
  });
});
