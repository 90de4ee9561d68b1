import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JsonlSink } from "../../src/usage/jsonl-sink.ts";
import { rotateByCopyTruncate } from "../../src/usage/rotation.ts";
import { SqliteSink } from "../../src/usage/sqlite-sink.ts";
import { openUsageDb, SCHEMA_VERSION } from "../../src/usage/sqlite-store.ts";
import { scratchDir } from "../support/ccp.ts";
import { generateRecords } from "../support/usage-records.ts";

const DAY = 86_400_000;

describe("SQLite usage store", () => {
  test("schema: WAL, versioned migrations, indexes on time, lane and status; reopening is a no-op", () => {
    const path = join(scratchDir(), "ccp.db");
    openUsageDb(path, { create: true }).close();
    const db = openUsageDb(path);
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: SCHEMA_VERSION });
    const indexes = (db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((r) => r.name);
    expect(indexes).toEqual(expect.arrayContaining(["requests_ts", "requests_lane_ts", "requests_status_ts"]));
    db.close();
  });

  test("a database from a newer ccp is refused, not damaged", () => {
    const path = join(scratchDir(), "ccp.db");
    const raw = new Database(path, { create: true });
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openUsageDb(path)).toThrow("newer than this ccp knows");
  });

  test("write() only queues (nothing touches the disk on the request path); the timer or flush writes one batch", async () => {
    const path = join(scratchDir(), "ccp.db");
    const sink = new SqliteSink(path, { retentionDays: 30 });
    const records = generateRecords(50, Date.now(), 60_000);
    for (const r of records) sink.write(r);
    const reader = openUsageDb(path, { readonly: true });
    expect(reader.query("SELECT count(*) AS n FROM requests").get()).toEqual({ n: 0 });
    await Bun.sleep(600); // more than FLUSH_INTERVAL_MS
    expect(reader.query("SELECT count(*) AS n FROM requests").get()).toEqual({ n: 50 });
    const attempts = records.reduce((n, r) => n + r.attempts.length, 0);
    expect(reader.query("SELECT count(*) AS n FROM attempts").get()).toEqual({ n: attempts });
    const one = reader.query("SELECT rid, lane, status, ttft_ms, h2 FROM requests WHERE rid = ?").get(records[3]!.rid);
    expect(one).toEqual({ rid: records[3]!.rid, lane: records[3]!.lane, status: records[3]!.status, ttft_ms: records[3]!.ttft_ms, h2: records[3]!.h2 ? 1 : 0 });
    reader.close();
    sink.close();
  });

  test("retention: records older than retention.days are pruned with their attempts", async () => {
    const path = join(scratchDir(), "ccp.db");
    const now = Date.now();
    const sink = new SqliteSink(path, { retentionDays: 30, now: () => now });
    const old = generateRecords(20, now - 40 * DAY, DAY, 1);
    const fresh = generateRecords(15, now, 10 * DAY, 2);
    for (const r of [...old, ...fresh]) sink.write(r);
    await sink.flush();
    expect(await sink.prune()).toBe(20);
    sink.close();
    const db = openUsageDb(path, { readonly: true });
    expect(db.query("SELECT count(*) AS n FROM requests").get()).toEqual({ n: 15 });
    expect(db.query("SELECT count(*) AS n FROM attempts WHERE request_id NOT IN (SELECT id FROM requests)").get()).toEqual({ n: 0 });
    expect(db.query("SELECT min(ts_ms) >= ? AS ok FROM requests").get(now - 30 * DAY)).toEqual({ ok: 1 });
    db.close();
  });
});

describe("rotation", () => {
  test("usage.jsonl rotates by size and keeps N files; no line is split or lost among the kept files", async () => {
    const file = join(scratchDir(), "logs", "usage.jsonl");
    const sink = new JsonlSink(file, (e) => {
      throw e;
    }, { maxBytes: 4_000, keep: 2 });
    const records = generateRecords(60, Date.now(), 60_000, 3);
    for (const r of records) {
      sink.write(r);
      await sink.flush();
    }
    await sink.flush();
    expect([file, `${file}.1`, `${file}.2`].map((f) => existsSync(f))).toEqual([true, true, true]);
    expect(existsSync(`${file}.3`)).toBe(false);
    const kept = [`${file}.2`, `${file}.1`, file].flatMap((f) => readFileSync(f, "utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { rid: string }).rid));
    // The kept files hold the newest records, in order, each whole.
    expect(kept).toEqual(records.slice(-kept.length).map((r) => r.rid));
    for (const f of [`${file}.1`, `${file}.2`]) expect(readFileSync(f).byteLength).toBeLessThanOrEqual(4_000);
  });

  test("a log held open by another process rotates by copy and truncate", async () => {
    const file = join(scratchDir(), "ccp-8082.out");
    writeFileSync(file, "x".repeat(3_000));
    expect(await rotateByCopyTruncate(file, { maxBytes: 1_000, keep: 3 })).toBe(true);
    expect(readFileSync(file).byteLength).toBe(0);
    expect(readFileSync(`${file}.1`).byteLength).toBe(3_000);
    expect(await rotateByCopyTruncate(file, { maxBytes: 1_000, keep: 3 })).toBe(false);
  });
});
