import { describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { UsageRecord } from "../../src/usage/record.ts";
import { Spool } from "../../src/usage/spool.ts";
import { scratchDir } from "../support/ccp.ts";
import { generateRecords } from "../support/usage-records.ts";

/** The PostgreSQL store's local buffer (spool.ts): bounded, replayed in order, kept until stored. */
const records = (n: number, seed = 3) => generateRecords(n, Date.now(), 3_600_000, seed);
const lineBytes = (rs: readonly UsageRecord[]) => rs.reduce((n, r) => n + Buffer.byteLength(`${JSON.stringify(r)}\n`), 0);

describe("the store's disk buffer", () => {
  test("records are appended 0600 and replayed in order, in batches; the files are gone after", async () => {
    const dir = join(scratchDir(), "buffer");
    const spool = new Spool(dir, "postgres-1", 1 << 20);
    const rs = records(120);
    expect(spool.append(rs.slice(0, 70))).toBe(70);
    expect(spool.append(rs.slice(70))).toBe(50);
    expect(statSync(spool.path).mode & 0o777).toBe(0o600);
    expect(spool.bytes).toBe(lineBytes(rs));
    const batches: number[] = [];
    const got: string[] = [];
    const n = await spool.replay(async (b) => {
      batches.push(b.length);
      got.push(...b.map((r) => r.rid));
    }, 50);
    expect(n).toBe(120);
    expect(batches).toEqual([50, 50, 20]);
    expect(got).toEqual(rs.map((r) => r.rid));
    expect(existsSync(spool.path) || existsSync(spool.replayPath)).toBe(false);
    expect(spool.pending).toBe(false);
  });

  test("beyond the bound records are not kept but counted; the bound counts a replay in progress too", () => {
    const rs = records(40);
    const bound = lineBytes(rs.slice(0, 25));
    const spool = new Spool(join(scratchDir(), "buffer"), "postgres-2", bound);
    expect(spool.append(rs.slice(0, 20))).toBe(20);
    expect(spool.append(rs.slice(20))).toBe(5);
    expect(spool.dropped).toBe(15);
    expect(spool.bytes).toBeLessThanOrEqual(bound);
    // A new Spool on the same files (ccp started again) knows what is there.
    expect(new Spool(join(spool.path, ".."), "postgres-2", bound).bytes).toBe(spool.bytes);
  });

  test("a failing store stops the replay and keeps every record for the next one; records buffered meanwhile are replayed too", async () => {
    const spool = new Spool(join(scratchDir(), "buffer"), "postgres-3", 1 << 20);
    const rs = records(30);
    spool.append(rs.slice(0, 20));
    let calls = 0;
    await expect(
      spool.replay(async () => {
        if (++calls === 2) throw new Error("connection refused");
      }, 10),
    ).rejects.toThrow("connection refused");
    expect(existsSync(spool.replayPath)).toBe(true);
    spool.append(rs.slice(20));
    expect(spool.bytes).toBe(lineBytes(rs));
    const got: string[] = [];
    expect(await spool.replay(async (b) => void got.push(...b.map((r) => r.rid)), 10)).toBe(30);
    expect(got).toEqual(rs.map((r) => r.rid));
    expect(spool.bytes).toBe(0);
  });

  test("a line torn by a crash is skipped, the others replayed", async () => {
    const spool = new Spool(join(scratchDir(), "buffer"), "postgres-4", 1 << 20);
    const rs = records(3);
    spool.append(rs.slice(0, 2));
    appendFileSync(spool.path, '{"rid":"ccp_torn","attem');
    appendFileSync(spool.path, `\n${JSON.stringify(rs[2])}\n`);
    const got: string[] = [];
    await spool.replay(async (b) => void got.push(...b.map((r) => r.rid)));
    expect(got).toEqual(rs.map((r) => r.rid));
  });
});
