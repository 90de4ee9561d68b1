import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LinkDown, RedisLink } from "../../src/cluster/redis-link.ts";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis-server.ts";

/** The link to Redis: a deadline on every operation, fall back once, re-join when Redis answers; never its password in a log. */
const PASSWORD = "redis-pass-0123456789abcdef";
const noRedis = skipWithoutRedis("cluster-link");
let redis: TestRedis;
beforeAll(async () => {
  if (noRedis) return;
  redis = await startRedis({ password: PASSWORD });
});
afterAll(async () => {
  await redis?.close();
});

const waitFor = async (what: string, ok: () => boolean, ms = 15_000) => {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
};

describe.skipIf(noRedis)("the link to a redis-server", () => {
  test("stopped, paused and back: each failure falls back within the deadline, logged and counted once per outage, and re-joins", async () => {
    const logs: string[] = [];
    const log = { info: (m: string) => logs.push(`info ${m}`), warn: (m: string) => logs.push(`warn ${m}`) };
    const link = new RedisLink(redis.url, log, { opTimeoutMs: 250, probeEveryMs: 100 });
    try {
      await link.start();
      expect(link.up).toBe(true);
      expect(await link.send("PING", [])).toBe("PONG");

      await redis.stop();
      const t0 = performance.now();
      await expect(link.send("PING", [])).rejects.toBeInstanceOf(LinkDown);
      expect(performance.now() - t0).toBeLessThan(2_000); // bounded: the deadline, not a reconnect loop
      expect(link.up).toBe(false);
      for (let i = 0; i < 5; i++) await expect(link.send("PING", [])).rejects.toBeInstanceOf(LinkDown);
      expect(link.fallbacks).toBe(1);
      await redis.start();
      await waitFor("the re-join after a restart", () => link.up);
      expect(link.rejoins).toBe(1);
      expect(await link.eval("return ARGV[1]", [], ["x"])).toBe("x"); // a restarted Redis knows no script: sent whole

      redis.pause();
      const t1 = performance.now();
      await expect(link.send("PING", [])).rejects.toBeInstanceOf(LinkDown);
      expect(performance.now() - t1).toBeLessThan(2_000);
      expect(link.fallbacks).toBe(2);
      redis.resume();
      await waitFor("the re-join after a pause", () => link.up);
      expect(link.rejoins).toBe(2);

      expect(logs.filter((l) => l.startsWith("warn")).length).toBe(2);
      expect(logs.filter((l) => l.includes("answers again")).length).toBe(2);
      expect(logs.join("\n")).not.toContain(PASSWORD);
      expect(logs.join("\n")).toContain(`redis://:********@127.0.0.1:${redis.port}`);
    } finally {
      link.close();
    }
  }, 60_000);

  test("a Redis that is not there at start: down at once, logged once, joins when it comes", async () => {
    const logs: string[] = [];
    const link = new RedisLink(redis.url, { info: (m) => logs.push(m), warn: (m) => logs.push(m) }, { opTimeoutMs: 250, probeEveryMs: 100 });
    await redis.stop();
    try {
      await link.start();
      expect(link.up).toBe(false);
      expect(link.fallbacks).toBe(1);
      await Bun.sleep(400);
      expect(logs.length).toBe(1);
      await redis.start();
      await waitFor("the first join", () => link.up);
      expect(logs.join("\n")).not.toContain(PASSWORD);
    } finally {
      link.close();
    }
  }, 60_000);
});
