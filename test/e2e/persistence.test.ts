import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ccpCommand, laneConfig, startCcp, type CcpProcess } from "../support/ccp.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

const send = async (ccp: CcpProcess, n: number, model = "claude-haiku-4-5") => {
  const rids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${ccp.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "sk-ant-api03-k" },
      body: JSON.stringify({ model, stream: true, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
    });
    await res.text();
    rids.push(res.headers.get("x-ccp-rid")!);
  }
  return rids;
};

const dbFiles = (home: string) => readdirSync(join(home, "state")).filter((f) => f.startsWith("ccp.db"));

/** `ccp usage --stats --json ...` as a user runs it. */
async function statsCli(home: string, config: string, args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn([...ccpCommand(), "usage", "--stats", "--json", "--config", config, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, CCP_HOME: join(home, "state"), NO_COLOR: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`ccp usage --stats exited ${code}: ${err}`);
  return JSON.parse(out) as { source: string; groups: { key: string; requests: number; errors: number; ttft_ms: { p50: number | null } }[] };
}

describe("persistence", () => {
  test("on by default: ccp.db holds every record with its attempts, like usage.jsonl; `ccp usage --stats` gives the same numbers from both", async () => {
    await upstream.reset();
    const ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "z-key" } });
    const rids = [...(await send(ccp, 4)), ...(await send(ccp, 2, "claude-sonnet-4-5"))];
    await upstream.script([{ kind: "status", status: 401 }], { pathPrefix: "/anthropic" });
    rids.push(...(await send(ccp, 1, "claude-sonnet-4-5")));
    await ccp.stop();
    const lines = await ccp.usage(7);
    const db = new Database(join(ccp.home, "state", "ccp.db"), { readonly: true });
    const rows = db.query("SELECT rid, lane, status, model FROM requests ORDER BY id").all();
    expect(rows).toEqual(lines.map((l) => ({ rid: l.rid, lane: l.lane, status: l.status, model: l.model })));
    expect(rows.map((r) => (r as { rid: string }).rid).sort()).toEqual([...rids].sort());
    expect(db.query("SELECT count(*) AS n FROM attempts").get()).toEqual({ n: 7 });
    db.close();

    const configFile = join(ccp.home, "ccp.toml");
    const fromDb = await statsCli(ccp.home, configFile, ["--by", "lane"]);
    const fromJsonl = await statsCli(ccp.home, configFile, ["--by", "lane"], { CCP_PERSIST: "0" });
    expect([fromDb.source, fromJsonl.source]).toEqual(["sqlite", "jsonl"]);
    expect(fromDb.groups).toEqual(fromJsonl.groups);
    expect(fromDb.groups.map((g) => [g.key, g.requests, g.errors])).toEqual([
      ["zai", 4, 0],
      ["anthropic", 3, 1],
    ]);
    expect(fromDb.groups[0]!.ttft_ms.p50).not.toBeNull();
    const since = await statsCli(ccp.home, configFile, ["--since", "1h", "--by", "status"]);
    expect(since.groups.map((g) => [g.key, g.requests])).toEqual([
      ["200", 6],
      ["401", 1],
    ]);
  });

  test("CCP_PERSIST=0: the database is neither opened nor created; usage.jsonl is still written", async () => {
    const ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "z-key", CCP_PERSIST: "0" } });
    await send(ccp, 2);
    await ccp.stop();
    expect(await ccp.usage(2)).toHaveLength(2);
    expect(dbFiles(ccp.home)).toEqual([]);
  });

  test("persist = false in the active profile: no database either", async () => {
    const config = laneConfig(upstream.url, upstream.caFile, { extra: "[profiles.dev]\npersist = false\n" });
    const ccp = await startCcp({ config, env: { ZAI_API_KEY: "z-key" }, profile: "dev" });
    await send(ccp, 2);
    await ccp.stop();
    expect(await ccp.usage(2)).toHaveLength(2);
    expect(dbFiles(ccp.home)).toEqual([]);
  });

  test("kill -9: records flushed before the kill are intact and the database opens cleanly", async () => {
    await upstream.reset();
    const ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "z-key" } });
    const rids = await send(ccp, 20);
    await Bun.sleep(1_000); // four flush intervals: every record above is committed
    process.kill(ccp.pid, "SIGKILL");
    await Bun.sleep(200);
    const path = join(ccp.home, "state", "ccp.db");
    expect(existsSync(`${path}-wal`)).toBe(true); // the crash left the WAL behind: recovery has work to do
    const db = new Database(path);
    expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    const stored = (db.query("SELECT rid FROM requests").all() as { rid: string }[]).map((r) => r.rid);
    expect(stored.sort()).toEqual([...rids].sort());
    expect(db.query("SELECT count(*) AS n FROM attempts").get()).toEqual({ n: 20 });
    db.close();
    // And ccp starts again on it and keeps writing.
    const again = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "z-key" }, home: ccp.home });
    await send(again, 1);
    await again.stop();
    const after = new Database(path, { readonly: true });
    expect(after.query("SELECT count(*) AS n FROM requests").get()).toEqual({ n: 21 });
    after.close();
  });
});
