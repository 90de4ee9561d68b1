import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileCapture } from "../../src/usage/capture.ts";
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
    // Every column of every row holds its own field (a parameter-order slip would show here).
    const bool = (b: boolean | null) => (b === null ? null : b ? 1 : 0);
    for (const r of records) {
      const row = reader.query("SELECT * FROM requests WHERE rid = ?").get(r.rid) as Record<string, unknown>;
      expect(row).toMatchObject({
        ts: r.ts,
        ts_ms: Date.parse(r.ts),
        lane: r.lane,
        model: r.model,
        status: r.status,
        h2: bool(r.h2),
        latency_ms: r.latency_ms,
        ttft_ms: r.ttft_ms,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        cache_read_input_tokens: r.cache_read_input_tokens,
        cache_creation_input_tokens: r.cache_creation_input_tokens,
        failure_class: r.failure_class,
        retries: r.retries,
        profile: "default",
        port: 8082,
        op: "messages",
      });
      const stored = reader.query("SELECT n, lane, protocol, outcome, ms, wait_ms FROM attempts WHERE request_id = ? ORDER BY n").all(row.id as number);
      expect(stored).toEqual(r.attempts.map((a, n) => ({ n, lane: a.lane, protocol: a.protocol, outcome: a.outcome, ms: a.ms, wait_ms: a.wait_ms })));
    }
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

describe("usage.jsonl", () => {
  const rids = (file: string) =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { rid: string }).rid);

  test("lines that finish while a write is on its way go out together, whole and in order", async () => {
    const file = join(scratchDir(), "logs", "usage.jsonl");
    const sink = new JsonlSink(file, (e) => {
      throw e;
    });
    const records = generateRecords(500, Date.now(), 60_000, 4);
    for (let i = 0; i < records.length; i++) {
      sink.write(records[i]!);
      if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    await sink.flush();
    expect(rids(file)).toEqual(records.map((r) => r.rid));
    await sink.close();
  });

  test("a usage.jsonl deleted or moved while ccp runs is created again: later lines are not lost in the old file", async () => {
    const file = join(scratchDir(), "logs", "usage.jsonl");
    const sink = new JsonlSink(file);
    const [a, b, c] = generateRecords(3, Date.now(), 60_000, 5);
    sink.write(a!);
    await sink.flush();
    rmSync(file);
    sink.write(b!);
    await sink.flush();
    expect(rids(file)).toEqual([b!.rid]);
    renameSync(file, `${file}.moved`);
    sink.write(c!);
    await sink.flush();
    expect(rids(file)).toEqual([c!.rid]);
    expect(rids(`${file}.moved`)).toEqual([b!.rid]);
    await sink.close();
  });
});

describe("rotation", () => {
  test("usage.jsonl rotates by size and keeps N files; no line is split or lost among the kept files", async () => {
    const file = join(scratchDir(), "logs", "usage.jsonl");
    const sink = new JsonlSink(
      file,
      (e) => {
        throw e;
      },
      { maxBytes: 4_000, keep: 2 },
    );
    const records = generateRecords(60, Date.now(), 60_000, 3);
    for (const r of records) {
      sink.write(r);
      await sink.flush();
    }
    await sink.flush();
    expect([file, `${file}.1`, `${file}.2`].map((f) => existsSync(f))).toEqual([true, true, true]);
    expect(existsSync(`${file}.3`)).toBe(false);
    const kept = [`${file}.2`, `${file}.1`, file].flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { rid: string }).rid),
    );
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

describe("files under the state directory: 0600, never written through a link", () => {
  const modeOf = (f: string) => (lstatSync(f).mode & 0o777).toString(8);
  const withUmask = async <T>(mask: number, fn: () => T | Promise<T>): Promise<T> => {
    const old = process.umask(mask);
    try {
      return await fn();
    } finally {
      process.umask(old);
    }
  };

  test("usage.jsonl: a link at its path is not appended through, neither at the first open nor when swapped in while the file is open", async () => {
    const dir = scratchDir();
    const victim = join(dir, "victim.rc");
    writeFileSync(victim, "export PATH=$HOME/bin:$PATH\n");
    const file = join(dir, "logs", "usage.jsonl");
    mkdirSync(join(dir, "logs"), { mode: 0o700 });
    symlinkSync(victim, file);
    const errors: string[] = [];
    const [a, b, c] = generateRecords(3, Date.now(), 60_000, 6);
    const linked = new JsonlSink(file, (e) => errors.push((e as NodeJS.ErrnoException).code ?? e.message));
    linked.write(a!);
    await linked.close();
    expect(errors).toEqual(["ELOOP"]);

    rmSync(file);
    const sink = new JsonlSink(file, (e) => errors.push((e as NodeJS.ErrnoException).code ?? e.message));
    sink.write(b!);
    await sink.flush();
    // Swapped for a link (by name, as rename does) while the sink holds the file open.
    symlinkSync(victim, `${file}.tmp`);
    renameSync(`${file}.tmp`, file);
    sink.write(c!);
    await sink.close();
    expect(errors).toEqual(["ELOOP", "ELOOP"]);
    expect(readFileSync(victim, "utf8")).toBe("export PATH=$HOME/bin:$PATH\n");
  });

  test("usage.jsonl is created 0600 and its directory 0700 under a loose umask; an older one at 0644 is narrowed when opened", async () => {
    const dir = scratchDir();
    const file = join(dir, "logs", "usage.jsonl");
    const [a, b] = generateRecords(2, Date.now(), 60_000, 7);
    await withUmask(0o002, async () => {
      const sink = new JsonlSink(file);
      sink.write(a!);
      await sink.close();
    });
    expect([modeOf(join(dir, "logs")), modeOf(file)]).toEqual(["700", "600"]);
    chmodSync(file, 0o644);
    const again = new JsonlSink(file);
    again.write(b!);
    await again.close();
    expect(modeOf(file)).toBe("600");
  });

  test("copy-truncate rotation of the server log never reads, copies or truncates through a link", async () => {
    const dir = scratchDir();
    const victim = join(dir, "victim.rc");
    const text = "alias ls='ls -F'\n".repeat(200);
    writeFileSync(victim, text);
    const log = join(dir, "ccp-8082.out");
    symlinkSync(victim, log);
    await expect(rotateByCopyTruncate(log, { maxBytes: 1_000, keep: 3 })).rejects.toMatchObject({ code: "ELOOP" });
    expect(readFileSync(victim, "utf8")).toBe(text);
    expect(existsSync(`${log}.1`)).toBe(false);
    // A real log rotates into a new 0600 copy, even when an old copy was a link.
    rmSync(log);
    writeFileSync(log, "x".repeat(3_000), { mode: 0o600 });
    symlinkSync(victim, `${log}.1`);
    expect(await rotateByCopyTruncate(log, { maxBytes: 1_000, keep: 1 })).toBe(true);
    expect(readFileSync(victim, "utf8")).toBe(text);
    expect([lstatSync(`${log}.1`).isSymbolicLink(), modeOf(`${log}.1`), readFileSync(`${log}.1`).byteLength, readFileSync(log).byteLength]).toEqual([false, "600", 3_000, 0]);
  });

  test("ccp.db, -wal and -shm are 0600 under umask 022; an older 0644 database (and its -wal, -shm) is narrowed", async () => {
    const dir = scratchDir();
    const path = join(dir, "ccp.db");
    await withUmask(0o022, () => {
      const files = [path, `${path}-wal`, `${path}-shm`];
      const db = openUsageDb(path, { create: true });
      expect(files.map(modeOf)).toEqual(["600", "600", "600"]);
      // As an older ccp left them (SQLite's default 0644 under umask 022), -wal and -shm held open by another instance.
      for (const f of files) chmodSync(f, 0o644);
      const second = openUsageDb(path);
      expect(files.map(modeOf)).toEqual(["600", "600", "600"]);
      second.close();
      db.close();
      // And a closed one (no -wal, -shm): narrowed, so the -wal and -shm SQLite makes from its mode are 0600.
      chmodSync(path, 0o644);
      const reopened = openUsageDb(path);
      expect(files.map(modeOf)).toEqual(["600", "600", "600"]);
      reopened.close();
    });
  });

  test("a reader (ccp usage --stats) of an older 0644 database narrows it, so the -wal/-shm its first read creates are 0600", async () => {
    const path = join(scratchDir(), "ccp.db");
    await withUmask(0o022, () => {
      const old = new Database(path, { create: true });
      old.exec("PRAGMA journal_mode = WAL");
      old.exec("CREATE TABLE t (x)");
      old.close();
      expect(existsSync(`${path}-shm`)).toBe(false);
      const reader = openUsageDb(path, { readonly: true });
      reader.query("SELECT count(*) FROM t").get();
      expect([path, `${path}-wal`, `${path}-shm`].map(modeOf)).toEqual(["600", "600", "600"]);
      reader.close();
    });
  });

  test("a capture file is a new file: a link planted at its name is not written through", async () => {
    const dir = join(scratchDir(), "captures");
    const errors: string[] = [];
    const capture = new FileCapture({
      dir,
      mode: "all",
      maxFiles: 10,
      secrets: [],
      onError: (e) => errors.push((e as NodeJS.ErrnoException).code ?? e.message),
    });
    const [record] = generateRecords(1, Date.now(), 60_000, 8);
    const session = capture.begin(record!.rid, new Headers(), new TextEncoder().encode("{}"));
    const victim = join(dir, "..", "victim.rc");
    writeFileSync(victim, "export EDITOR=vi\n");
    symlinkSync(victim, capture.pathFor(record!.rid));
    capture.write(record!);
    session.end(record!);
    await capture.flush();
    expect(errors).toEqual(["EEXIST"]);
    expect(readFileSync(victim, "utf8")).toBe("export EDITOR=vi\n");
  });

  test("a link at ccp.db, -wal or -shm is refused with a clear message before SQLite opens anything", () => {
    for (const suffix of ["", "-wal", "-shm"]) {
      const dir = scratchDir();
      const victim = join(dir, "victim");
      writeFileSync(victim, "precious\n");
      const path = join(dir, "ccp.db");
      symlinkSync(victim, path + suffix);
      expect(() => openUsageDb(path, { create: true })).toThrow(`${path + suffix} is a symbolic link: ccp does not open its database through links`);
      expect(() => openUsageDb(path, { readonly: true })).toThrow("is a symbolic link");
      expect(readFileSync(victim, "utf8")).toBe("precious\n");
    }
  });
});
