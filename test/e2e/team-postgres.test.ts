import Anthropic from "@anthropic-ai/sdk";
import { SQL } from "bun";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { insertRecords } from "../../src/usage/pg-sink.ts";
import { migrateStore, PG_SCHEMA_VERSION } from "../../src/usage/pg-store.ts";
import { openUsageDb, SCHEMA_VERSION } from "../../src/usage/sqlite-store.ts";
import { laneConfig, scratchDir, startCcp, type CcpProcess } from "../support/ccp.ts";
import { runClaude, SONNET } from "../support/claude.ts";
import { cliHome, expectExit, runCli } from "../support/cli.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { skipWithoutPostgres, startPostgres, type PostgresServer } from "../support/postgres-server.ts";
import { generateRecords } from "../support/usage-records.ts";
import { parseExposition, sample } from "../support/prometheus.ts";

/**
 * The fleet's usage in PostgreSQL (issue 22), against a PostgreSQL of the test's own (never the
 * machine's): migrations applied once however many instances start at once, every record
 * stored exactly once across an outage, and `ccp usage --stats` reading the whole fleet.
 */
const noPostgres = skipWithoutPostgres("team-postgres");
const PASSWORD = "pg-secret-pass-7d6c5b4a3928";
const ALICE = "alice-team-key-7c1d2e3f4a5b6c7d";
const BOB = "bob-team-key-0a9b8c7d6e5f4a3b";

let pg: PostgresServer;
let upstream: FakeUpstream;
const open: CcpProcess[] = [];

beforeAll(async () => {
  if (noPostgres) return;
  [pg, upstream] = await Promise.all([startPostgres(), startFakeUpstream()]);
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.stop()));
  await upstream?.close();
  await pg?.close();
});

/** A fresh database on the test's server, and its URL (with a password: trust ignores it, ccp must hide it). */
async function freshDatabase(name: string): Promise<string> {
  const admin = new SQL({ url: pg.url, max: 1 });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.close();
  return `postgres://postgres:${PASSWORD}@127.0.0.1:${pg.port}/${name}`;
}

async function query<T>(url: string, f: (sql: SQL) => Promise<T>): Promise<T> {
  const sql = new SQL({ url, max: 1 });
  try {
    return await f(sql);
  } finally {
    await sql.close();
  }
}

const storeConfig = (url: string, instance: string) =>
  laneConfig(upstream.url, upstream.caFile, {
    extra: `[clients.alice]\nkey_env = "ALICE_KEY"\n[clients.bob]\nkey_env = "BOB_KEY"\n[store]\nurl = "${url}"\n`,
  }).replace("port = 0", `port = 0\ninstance = "${instance}"`);

async function startInstance(url: string, instance: string, home?: string): Promise<CcpProcess> {
  const c = await startCcp({ config: storeConfig(url, instance), env: { ZAI_API_KEY: "zai-key-000000000000", ALICE_KEY: ALICE, BOB_KEY: BOB }, ...(home ? { home } : {}) });
  open.push(c);
  return c;
}

async function stopInstance(c: CcpProcess): Promise<void> {
  await c.stop();
  open.splice(open.indexOf(c), 1);
}

/** n non-streaming messages through the SDK, as the given client. */
async function send(c: CcpProcess, key: string, n: number): Promise<void> {
  const sdk = new Anthropic({ baseURL: c.url, apiKey: "sk-ant-api03-client-key-for-tests", defaultHeaders: { "x-ccp-key": key }, maxRetries: 0 });
  for (let i = 0; i < n; i++) {
    const m = await sdk.messages.create({ model: SONNET, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }, { headers: { "x-claude-code-session-id": `s-${i % 3}` } });
    expect(m.type).toBe("message");
  }
}

const rids = async (url: string) => query(url, async (sql) => (await sql`SELECT rid FROM requests`).map((r: { rid: string }) => r.rid) as string[]);

async function waitForRows(url: string, n: number, ms = 60_000): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const got = await rids(url).catch(() => [] as string[]);
    if (got.length >= n || Date.now() > until) return got;
    await Bun.sleep(200);
  }
}

describe.skipIf(noPostgres)("schema", () => {
  test("eight migrations racing on a fresh database: each step applied once, all succeed", async () => {
    const url = await freshDatabase("race");
    const pools = Array.from({ length: 8 }, () => new SQL({ url, max: 1 }));
    const results = await Promise.all(pools.map((p) => migrateStore(p)));
    await Promise.all(pools.map((p) => p.close()));
    expect(results.filter((r) => r.from === 0)).toHaveLength(1);
    expect(results.every((r) => r.to === PG_SCHEMA_VERSION)).toBe(true);
    const versions = await query(url, (sql) => sql`SELECT version FROM ccp_schema_versions ORDER BY version`);
    expect(versions.map((v: { version: number }) => v.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
  });

  test("the same tables and columns as SQLite's, at the same version", async () => {
    expect(PG_SCHEMA_VERSION).toBe(SCHEMA_VERSION);
    const lite = openUsageDb(join(scratchDir(), "ccp.db"), { create: true });
    const liteCols = (t: string) => (lite.query(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name).sort();
    const pgCols = (t: string) =>
      query(`postgres://postgres@127.0.0.1:${pg.port}/race`, async (sql) =>
        (await sql`SELECT column_name FROM information_schema.columns WHERE table_name = ${t}`).map((c: { column_name: string }) => c.column_name).sort(),
      );
    for (const t of ["requests", "attempts"]) expect(await pgCols(t)).toEqual(liteCols(t));
    lite.close();
  });

  test("inserts are keyed by request id: a batch stored twice (a replay) is stored once, attempts included", async () => {
    const url = await freshDatabase("keyed");
    const records = generateRecords(300, Date.now(), 3_600_000, 5);
    const counts = await query(url, async (sql) => {
      await migrateStore(sql);
      const first = await insertRecords(sql, records);
      const again = await insertRecords(sql, [...records.slice(100), ...records.slice(0, 50)]);
      const [r] = await sql`SELECT (SELECT count(*) FROM requests)::int AS requests, (SELECT count(*) FROM attempts)::int AS attempts`;
      return { first, again, ...(r as { requests: number; attempts: number }) };
    });
    expect(counts).toEqual({ first: 300, again: 0, requests: 300, attempts: records.reduce((n, r) => n + r.attempts.length, 0) });
  });
});

describe.skipIf(noPostgres)("two instances on one PostgreSQL", () => {
  let url: string;
  let a: CcpProcess;
  let b: CcpProcess;

  test("started at once against a fresh database: both migrate safely and serve", async () => {
    url = await freshDatabase("fleet");
    [a, b] = await Promise.all([startInstance(url, "box-a"), startInstance(url, "box-b")]);
    await Promise.all([send(a, ALICE, 4), send(b, BOB, 3)]);
    await send(b, ALICE, 2);
    const stored = await waitForRows(url, 9);
    expect(new Set(stored).size).toBe(9);
    const versions = await query(url, (sql) => sql`SELECT version FROM ccp_schema_versions`);
    expect(versions).toHaveLength(PG_SCHEMA_VERSION);
    for (const c of [a, b]) {
      expect(c.output()).toContain("usage store: PostgreSQL postgres://postgres:********@");
      expect(c.output()).not.toMatch(/usage store: .*failed/);
      expect(c.output()).not.toContain(PASSWORD);
    }
    // PostgreSQL instead of SQLite: no ccp.db
    expect(existsSync(join(a.home, "state", "ccp.db"))).toBe(false);
  });

  test("ccp usage --stats reads the fleet: --by instance and --by client", async () => {
    const h = cliHome({ CCP_DATABASE_URL: url, ALICE_KEY: ALICE, CCP_PROXY_KEY: ALICE });
    const stats = async (by: string) => {
      const r = expectExit(await runCli(["usage", "--stats", "--by", by, "--json", "--config", join(a.home, "ccp.toml")], { env: h.env }), 0);
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
      return Object.fromEntries((JSON.parse(r.stdout) as { source: string; groups: { key: string; requests: number }[] }).groups.map((g) => [g.key, g.requests]));
    };
    expect(await stats("instance")).toEqual({ "box-a": 4, "box-b": 5 });
    expect(await stats("client")).toEqual({ alice: 6, bob: 3 });
    const table = expectExit(await runCli(["usage", "--stats", "--config", join(a.home, "ccp.toml")], { env: h.env }), 0).stdout;
    expect(table).toContain("PostgreSQL (every instance): postgres://postgres:********@");
    const show = expectExit(await runCli(["config", "show", "--config", join(a.home, "ccp.toml")], { env: h.env }), 0).stdout;
    expect(show).toContain("usage store: PostgreSQL");
    expect(show).not.toContain(PASSWORD);
  });
});

describe.skipIf(noPostgres)("a PostgreSQL outage", () => {
  let url: string;
  let c: CcpProcess;
  const bufferFiles = (home: string) => {
    const dir = join(home, "state", "buffer");
    return existsSync(dir) ? readdirSync(dir) : [];
  };
  /** The instance's usage lines once no new one has come for half a second (every request above has finished). */
  async function settledUsage(ccp: CcpProcess, atLeast: number): Promise<Record<string, unknown>[]> {
    let lines = await ccp.usage(atLeast);
    for (;;) {
      await Bun.sleep(500);
      const again = await ccp.usage();
      if (again.length === lines.length) return lines;
      lines = again;
    }
  }
  /** Every line of the instance's usage.jsonl is in PostgreSQL once, with its attempts, and nothing else is. */
  async function expectExactlyOnce(lines: Record<string, unknown>[]): Promise<void> {
    const stored = await waitForRows(url, lines.length);
    expect(stored.length).toBe(lines.length);
    expect(new Set(stored)).toEqual(new Set(lines.map((l) => l.rid as string)));
    const [row] = await query(url, (sql) => sql`SELECT count(*)::int AS n, count(DISTINCT request_id)::int AS requests FROM attempts`);
    expect((row as { n: number }).n).toBe(lines.reduce((n, l) => n + (l.attempts as unknown[]).length, 0));
  }

  async function storeMetrics(ccp: CcpProcess) {
    const m = await parseExposition(await (await fetch(`${ccp.url}/metrics`, { headers: { "x-ccp-key": BOB } })).text());
    return { up: sample(m, "ccp_store_up"), bytes: sample(m, "ccp_store_buffer_bytes"), dropped: sample(m, "ccp_store_dropped_total") };
  }

  test("stopped mid-run and started again: requests go on, and every usage record arrives exactly once", async () => {
    url = await freshDatabase("outage");
    c = await startInstance(url, "box-o");
    await send(c, ALICE, 4);
    expect(await waitForRows(url, 4)).toHaveLength(4);
    await pg.stop();
    await send(c, BOB, 5);
    const claude = await runClaude(c.url, { model: SONNET, env: { ANTHROPIC_CUSTOM_HEADERS: `x-ccp-key: ${ALICE}`, CLAUDE_CODE_MAX_RETRIES: "0" } });
    expect(claude.json, claude.stderr).toMatchObject({ is_error: false });
    const until = Date.now() + 20_000;
    while (bufferFiles(c.home).length === 0 && Date.now() < until) await Bun.sleep(100);
    // (a try to replay renames the buffer aside first: records buffered meanwhile start a new file)
    expect(bufferFiles(c.home).length).toBeGreaterThan(0);
    expect(bufferFiles(c.home).every((f) => /^postgres-0(\.replay)?\.jsonl$/.test(f))).toBe(true);
    expect(c.output()).toMatch(
      /usage store: PostgreSQL postgres:\/\/postgres:\*{8}@127\.0\.0\.1:\d+\/outage failed \(.*\): usage records are buffered in .*buffer\/postgres-0\.jsonl \(at most 64 MiB\)/,
    );
    await pg.start();
    await expectExactlyOnce(await settledUsage(c, 10));
    const until2 = Date.now() + 10_000;
    while (!/reachable again/.test(c.output()) && Date.now() < until2) await Bun.sleep(50);
    expect(c.output()).toMatch(/reachable again after \d+ s; \d+ buffered records stored/);
    expect(bufferFiles(c.home)).toEqual([]);
    expect(await storeMetrics(c)).toEqual({ up: 1, bytes: 0, dropped: 0 });
    expect(c.output()).not.toContain(PASSWORD);
  });

  test("ccp stopped while PostgreSQL is down keeps the records on disk; started again, it stores them, once", async () => {
    const before = (await c.usage()).length;
    await pg.stop();
    await send(c, ALICE, 3);
    await stopInstance(c);
    expect(bufferFiles(c.home).length).toBeGreaterThan(0);
    await pg.start();
    c = await startInstance(url, "box-o", c.home);
    await send(c, BOB, 1);
    await expectExactlyOnce(await settledUsage(c, before + 4));
    expect(bufferFiles(c.home)).toEqual([]);
  });
});
