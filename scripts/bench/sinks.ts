/**
 * CPU per usage record of the usage sinks, written the way a busy proxy writes them: the JSONL
 * sink gets two records per turn of the event loop, the SQLite sink batches of 200; "memory" is
 * the in-process ones (metrics, lane health, the dashboard's recent requests). CPU is the whole
 * process's (the file system thread pool included).
 *
 *   bun scripts/bench/sinks.ts [jsonl|sqlite|memory] [records=30000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { draftRecord } from "../../src/usage/draft.ts";
import { JsonlSink } from "../../src/usage/jsonl-sink.ts";
import { LaneHealth } from "../../src/usage/lane-health.ts";
import { MetricsSink } from "../../src/usage/metrics-sink.ts";
import { RecentRequests } from "../../src/usage/recent.ts";
import { newLiveState } from "../../src/usage/live.ts";
import type { UsageRecord } from "../../src/usage/record.ts";
import { SqliteSink } from "../../src/usage/sqlite-sink.ts";

const which = process.argv[2] ?? "jsonl";
const n = Number(process.argv[3] ?? 30_000);
const dir = mkdtempSync(join(tmpdir(), "ccp-sinks-"));
const record = (i: number): UsageRecord => ({
  ...draftRecord(`ccp_bench_${i}`, "messages", "default", 8082),
  lane: "zai",
  model: "claude-haiku-4-5",
  status: 200,
  upstream: "https://api.z.ai/api/anthropic",
  h2: false,
  latency_ms: 12,
  ttft_ms: 3,
  first_byte_ms: 2,
  input_tokens: 100,
  output_tokens: 20,
  stop_reason: "end_turn",
  attempts: [{ lane: "zai", protocol: "h1", outcome: "ok", status: 200, ms: 10, wait_ms: 0, code: null }],
});
const records = Array.from({ length: n }, (_, i) => record(i));

const cpu0 = process.cpuUsage();
if (which === "sqlite") {
  const sink = new SqliteSink(join(dir, "ccp.db"), { retentionDays: 30 });
  for (let i = 0; i < n; i++) {
    sink.write(records[i]!);
    if (i % 200 === 199) await sink.flush();
  }
  sink.close();
} else if (which === "memory") {
  const health = new LaneHealth(["zai"]);
  const sinks = [health, new MetricsSink(newLiveState([]), health), new RecentRequests()];
  for (const r of records) for (const sink of sinks) sink.write(r);
} else {
  const sink = new JsonlSink(join(dir, "usage.jsonl"));
  for (let i = 0; i < n; i += 2) {
    sink.write(records[i]!);
    if (i + 1 < n) sink.write(records[i + 1]!);
    await new Promise((r) => setImmediate(r));
  }
  await sink.close();
}
const cpu = process.cpuUsage(cpu0);
console.log(`${which}: ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU per record (${n} records)`);
rmSync(dir, { recursive: true, force: true });
