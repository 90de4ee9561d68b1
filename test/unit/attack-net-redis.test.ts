import { describe, expect, test } from "bun:test";
import { Cluster } from "../../src/cluster/cluster.ts";
import { laneKeys } from "../../src/cluster/fleet.ts";
import { renderCluster } from "../../src/cli/cluster-format.ts";
import { loadConfig } from "../../src/config/load.ts";
import { QuotaDesk } from "../../src/quota/desk.ts";
import { writeConfig } from "../support/config-file.ts";
import { redisFleetHarness, rule } from "../support/redis-fleet.ts";

/**
 * Attack review (q-attack-net): another tenant of the same Redis writes to ccp's keys
 * (`ccp:{<lane>}:*`). What one write can do to the instances sharing a lane, against a
 * redis-server of the test's own (never the machine's 6379).
 */
const h = redisFleetHarness("attack-net-redis");
const { noRedis, newLane } = h;
const fleet = () => h.fleet();
const YEAR = 365 * 86_400_000;

/** One instance as the server builds it (Cluster + QuotaDesk), on the test's Redis, its log lines kept. */
function instance(lane: string) {
  const toml = `
[cluster]
redis_url = "${h.url()}"
lease_ms = 3000

[lanes.${lane}]
base_url = "https://zai.example/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
dialect = "zai"
shared = true
max_concurrency = 2

[[routes]]
match = "*"
lane = "${lane}"
`;
  const config = loadConfig({ file: writeConfig(toml), env: { HOME: "/home/u", ZAI_API_KEY: "zk-0123456789abcdef" } });
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`) };
  const cluster = Cluster.of(config, log)!;
  const desk = QuotaDesk.of(config, () => {});
  cluster.attachQuota(desk);
  return { config, cluster, desk, lines };
}

describe.skipIf(noRedis)("a hostile tenant of the fleet's Redis", () => {
  test("slots whose lease ends a century from now (no instance writes one past now + lease_ms) fill the lane for good: no instance gets a slot again", async () => {
    const lane = newLane();
    const f = await fleet();
    const far = Date.now() + 100 * YEAR;
    await h.raw().send("ZADD", [laneKeys(lane).slots, String(far), "ghost/1", String(far), "ghost/2"]);
    const a = await f.acquire(lane, "me:8082/1", 3_000, rule(2));
    // Expected: a lease no instance could have taken (it ends far past now + lease) is not counted.
    expect(a.granted).toBe(true);
  });

  test("a shared wall held until 10 years from now walls the lane (ccp's own book disbelieves a reset more than 40 days ahead)", async () => {
    const lane = newLane();
    const i = instance(lane);
    try {
      await i.cluster.start("me:8082");
      const until = Date.now() + 10 * YEAR;
      await h.raw().send("HSET", [laneKeys(lane).walls, "5h", JSON.stringify({ window: "5h", code: "1308", resetsAt: null, until })]);
      await i.cluster.refresh();
      // Expected: a wall no instance could have published is ignored, as the book ignores such a reset from an upstream.
      expect(i.desk.book.walled(lane, "lane")).toBeUndefined();
    } finally {
      i.cluster.close();
    }
  });

  test("a wall's window and code from Redis reach the server log with their line breaks: a forged log line", async () => {
    const lane = newLane();
    const i = instance(lane);
    try {
      await i.cluster.start("me:8082");
      const forged = "5h\n2099 error X";
      await h.raw().send("HSET", [laneKeys(lane).walls, "5h", JSON.stringify({ window: forged, code: "a\u001b[2Jb", resetsAt: Date.now() + 3_600_000, until: Date.now() + 3_600_000 })]);
      await i.cluster.refresh();
      // Expected: no log line carries a control character; a wall whose words are not plain (as ccp writes them) is ignored.
      for (const l of i.lines) expect(l).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(i.desk.book.walled(lane, "lane")).toBeUndefined();
    } finally {
      i.cluster.close();
    }
  });

  test("instance names from Redis reach `ccp status`'s terminal output with escape sequences (screen cleared, text rewritten)", async () => {
    const lane = newLane();
    const i = instance(lane);
    try {
      await i.cluster.start("me:8082");
      const far = Date.now() + 60_000;
      await h.raw().send("ZADD", [laneKeys(lane).instances, String(far), "\u001b[2J\u001b[Hccp: all good\u0007"]);
      await h.raw().send("ZADD", [laneKeys(lane).slots, String(far), "\u001b]0;pwned\u0007/1"]);
      await i.cluster.refresh();
      const shown = renderCluster(i.cluster.status());
      expect(shown).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    } finally {
      i.cluster.close();
    }
  });

  test("100,000 instance names in Redis: every sync reads them all and /status carries them all (no bound)", async () => {
    const lane = newLane();
    const i = instance(lane);
    try {
      await i.cluster.start("me:8082");
      const far = String(Date.now() + 600_000);
      const key = laneKeys(lane).instances;
      for (let b = 0; b < 20; b++) {
        const args: string[] = [key];
        for (let k = 0; k < 5_000; k++) args.push(far, `x${b}-${k}`);
        await h.raw().send("ZADD", args);
      }
      await i.cluster.refresh();
      const status = JSON.stringify(i.cluster.status());
      // 100,000 names written; expected: a bounded list (and count) on /status.
      expect(status.length).toBeLessThan(64 * 1024);
    } finally {
      i.cluster.close();
    }
  }, 60_000);

  test("defence holds: a limit of 0, -5 or garbage, a walls key of the wrong type: one slot is still granted, no crash, the link falls back and re-joins", async () => {
    for (const bad of ["0", "-5", "abc", "nan"]) {
      const lane = newLane();
      const f = await fleet();
      await h.raw().send("HSET", [laneKeys(lane).limit, "limit", bad]);
      const a = await f.acquire(lane, "me/1", 3_000, rule(2));
      expect({ bad, granted: a.granted }).toEqual({ bad, granted: true });
    }
    const lane = newLane();
    const i = instance(lane);
    try {
      await i.cluster.start("me:8082");
      await h.raw().send("SET", [laneKeys(lane).walls, "not a hash"]);
      await i.cluster.refresh();
      expect(i.cluster.status().lanes[0]!.name).toBe(lane);
      expect(renderCluster(i.cluster.status())).toContain(lane);
    } finally {
      i.cluster.close();
    }
  });
});
