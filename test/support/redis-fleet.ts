import { afterAll, beforeAll, expect } from "bun:test";
import { RedisClient } from "bun";
import type { LimitRule } from "../../src/cluster/fleet.ts";
import { RedisFleet } from "../../src/cluster/redis-fleet.ts";
import { RedisLink } from "../../src/cluster/redis-link.ts";
import { skipWithoutRedis, startRedis, type TestRedis } from "./redis-server.ts";

/**
 * The fleet's scripts against a redis-server of the test file's own (never the machine's 6379),
 * started before its tests and stopped after: `fleet()` gives a RedisFleet on a fresh link,
 * `raw()` a plain client (to write what another tenant might), `newLane()` an unused lane name.
 */
export function redisFleetHarness(name: string) {
  const noRedis = skipWithoutRedis(name);
  let redis: TestRedis | undefined;
  let raw: RedisClient | undefined;
  const links: RedisLink[] = [];
  const quiet = { info: () => {}, warn: () => {} };
  let laneN = 0;
  beforeAll(async () => {
    if (noRedis) return;
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const l of links) l.close();
    raw?.close();
    await redis?.close();
  });
  return {
    noRedis,
    url: () => redis!.url,
    async link(): Promise<RedisLink> {
      const link = new RedisLink(redis!.url, quiet, { opTimeoutMs: 2_000 });
      links.push(link);
      await link.start();
      expect(link.up).toBe(true);
      return link;
    },
    async fleet(): Promise<RedisFleet> {
      return new RedisFleet(await this.link());
    },
    raw: (): RedisClient => (raw ??= new RedisClient(redis!.url)),
    newLane: () => `${name.replace(/[^a-z0-9]/g, "")}${++laneN}`,
  };
}

export const rule = (max: number, o: Partial<LimitRule> = {}): LimitRule => ({ max, quietMs: 60_000, decreaseEveryMs: 250, ...o });
