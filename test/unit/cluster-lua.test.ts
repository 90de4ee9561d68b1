import { describe, expect, test } from "bun:test";
import { redisFleetHarness, rule } from "../support/redis-fleet.ts";

/** The fleet's scripts against a redis-server of the test's own (never the machine's). */
const h = redisFleetHarness("cluster-lua");
const { noRedis, newLane } = h;
const fleet = () => h.fleet();

/** A small seeded generator (mulberry32): the seed is printed, so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe.skipIf(noRedis)("the fleet's semaphore", () => {
  test("random acquires and releases over three instances follow a model: never more than the limit, every free slot granted", async () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
    console.log(`cluster semaphore seed ${seed} (SEED=${seed} replays it)`);
    const rand = seeded(seed);
    const fleets = [await fleet(), await fleet(), await fleet()];
    const lane = newLane();
    const max = 1 + Math.floor(rand() * 5);
    const held = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const f = fleets[Math.floor(rand() * 3)]!;
      if (held.size > 0 && rand() < 0.45) {
        const h = [...held][Math.floor(rand() * held.size)]!;
        await f.release(lane, h);
        held.delete(h);
      } else {
        const h = `i${i % 3}:1/${i}`;
        const a = await f.acquire(lane, h, 60_000, rule(max));
        expect(a.granted).toBe(held.size < max);
        if (a.granted) held.add(h);
        expect(a.inUse).toBe(held.size);
        expect(a.limit).toBe(max);
      }
    }
  });

  test("concurrent acquires from three instances: exactly the limit is granted (the script is atomic)", async () => {
    const fleets = [await fleet(), await fleet(), await fleet()];
    const lane = newLane();
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => fleets[i % 3]!.acquire(lane, `h/${i}`, 60_000, rule(5))));
    expect(answers.filter((a) => a.granted).length).toBe(5);
  });

  test("a lease not renewed expires: its slot goes to the next holder; a renewed one stays; an expired one is not revived", async () => {
    const f = await fleet();
    const lane = newLane();
    expect((await f.acquire(lane, "a/1", 400, rule(2))).granted).toBe(true);
    expect((await f.acquire(lane, "b/1", 400, rule(2))).granted).toBe(true);
    expect((await f.acquire(lane, "c/1", 400, rule(2))).granted).toBe(false);
    await Bun.sleep(250);
    expect(await f.renew(lane, ["a/1"], 2_000)).toBe(1);
    await Bun.sleep(300); // b's lease is over, a's renewed one is not
    const c = await f.acquire(lane, "c/1", 2_000, rule(2));
    expect(c).toMatchObject({ granted: true, inUse: 2 });
    expect(await f.renew(lane, ["b/1"], 2_000)).toBe(0);
    expect((await f.view(lane, rule(2), 60_000)).slots).toEqual({ a: 1, c: 1 });
  });
});

describe.skipIf(noRedis)("the fleet's adaptive limit", () => {
  test("not engaged, the first overload engages at half the slots held; one within decrease-every does not halve again; later ones do", async () => {
    const f = await fleet();
    const lane = newLane();
    for (let i = 0; i < 6; i++) expect((await f.acquire(lane, `x/${i}`, 60_000, rule(0))).limit).toBe(Number.POSITIVE_INFINITY);
    expect(await f.overload(lane, rule(0, { decreaseEveryMs: 300 }))).toBe(3);
    expect(await f.overload(lane, rule(0, { decreaseEveryMs: 300 }))).toBe(3);
    await Bun.sleep(350);
    expect(await f.overload(lane, rule(0, { decreaseEveryMs: 300 }))).toBe(1.5);
    // 6 held and a limit of 1: nobody else gets in until they are released.
    expect((await f.acquire(lane, "y/1", 60_000, rule(0))).granted).toBe(false);
    expect(await f.success(lane, rule(0))).toBeCloseTo(1.5 + 1 / 1.5, 10);
  });

  test("the refused holder is not counted among those the provider took, even if it had flowed (refused after its message_start)", async () => {
    const f = await fleet();
    const lane = newLane();
    const r = rule(0);
    for (const h of ["a/1", "b/1", "c/1"]) {
      await f.acquire(lane, h, 60_000, r);
      await f.success(lane, r, h);
    }
    expect(await f.overload(lane, r, true, "c/1")).toBe(2);
  });

  test("a lasting storm halves on, once per decrease-every counted from the last halving, down to 1", async () => {
    const f = await fleet();
    const lane = newLane();
    const r = rule(16, { decreaseEveryMs: 200 });
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      seen.push(await f.overload(lane, r));
      await Bun.sleep(60);
    }
    // Overloads every ~60 ms: never two halvings within 200 ms, and the storm reaches 1 (it stayed at 8 when any overload reset the clock).
    expect(seen[0]).toBe(8);
    expect(seen.at(-1)).toBeLessThanOrEqual(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]! / 2);
  });

  test("a configured max starts engaged at it, halves, and grows back no higher than it", async () => {
    const f = await fleet();
    const lane = newLane();
    expect((await f.view(lane, rule(4), 60_000)).limit).toBe(4);
    expect(await f.overload(lane, rule(4))).toBe(2);
    let limit = 2;
    for (let i = 0; i < 20; i++) limit = await f.success(lane, rule(4));
    expect(limit).toBe(4);
  });

  test("a concurrency refusal while admitted streams flow sets the limit to that many, and growth stays under it for the quiet spell", async () => {
    const f = await fleet();
    const lane = newLane();
    const r = rule(0, { quietMs: 800 });
    for (const h of ["a/1", "b/1", "c/1"]) await f.acquire(lane, h, 60_000, r);
    // a/1 and b/1 were admitted (flowing); c/1 is the one the provider refused.
    await f.success(lane, r, "a/1");
    await f.success(lane, r, "b/1");
    await f.success(lane, r, "gone/9"); // a holder without a slot is not flowing
    expect(await f.overload(lane, r, true)).toBe(2);
    let limit = 2;
    for (let i = 0; i < 10; i++) limit = await f.success(lane, r, "a/1");
    expect(limit).toBe(2);
    // A released holder no longer counts: one flowing now, so the next refusal says 1.
    await f.release(lane, "b/1");
    expect(await f.overload(lane, r, true)).toBe(1);
    // A configured lane past the quiet spell grows again towards its max.
    const lane2 = newLane();
    const r4 = rule(4, { quietMs: 300 });
    await f.acquire(lane2, "a/1", 60_000, r4);
    await f.success(lane2, r4, "a/1");
    expect(await f.overload(lane2, r4, true)).toBe(1);
    expect(await f.success(lane2, r4)).toBe(1);
    await Bun.sleep(350);
    for (let i = 0; i < 20; i++) limit = await f.success(lane2, r4);
    expect(limit).toBe(4);
    // Another overload (busy, not "too many at once") sets the limit too, and growth goes on at once.
    const lane3 = newLane();
    for (const h of ["a/1", "b/1"]) await f.acquire(lane3, h, 60_000, r4);
    await f.success(lane3, r4, "a/1");
    expect(await f.overload(lane3, r4, false)).toBe(1);
    for (let i = 0; i < 20; i++) limit = await f.success(lane3, r4);
    expect(limit).toBe(4);
  });

  test("an unconfigured limit lets go after a quiet spell; success alone does not engage it", async () => {
    const f = await fleet();
    const lane = newLane();
    expect(await f.success(lane, rule(0))).toBe(Number.POSITIVE_INFINITY);
    await f.acquire(lane, "q/1", 60_000, rule(0));
    await f.acquire(lane, "q/2", 60_000, rule(0));
    expect(await f.overload(lane, rule(0, { quietMs: 300 }))).toBe(1);
    expect((await f.view(lane, rule(0, { quietMs: 300 }), 60_000)).limit).toBe(1);
    await Bun.sleep(350);
    expect((await f.view(lane, rule(0, { quietMs: 300 }), 60_000)).limit).toBe(Number.POSITIVE_INFINITY);
  });
});

describe.skipIf(noRedis)("cool-downs, walls and instances", () => {
  test("an HTTP/1.1 cool-down is seen by every instance's next acquire until it lapses", async () => {
    const [a, b] = [await fleet(), await fleet()];
    const lane = newLane();
    await a.cooldown(lane, 400);
    const seen = await b.acquire(lane, "b/1", 60_000, rule(0));
    expect(seen.h1Ms).toBeGreaterThan(0);
    expect(seen.h1Ms).toBeLessThanOrEqual(400);
    await Bun.sleep(450);
    expect((await b.acquire(lane, "b/2", 60_000, rule(0))).h1Ms).toBe(0);
  });

  test("a wall is seen until it lapses; instances are seen until their heartbeat expires", async () => {
    const [a, b] = [await fleet(), await fleet()];
    const lane = newLane();
    const until = Date.now() + 400;
    await a.wall(lane, { window: "5h", resetsAt: until, code: "1308", until });
    await a.heartbeat("host-a:1", [lane], 400);
    await b.heartbeat("host-b:2", [lane], 60_000);
    const v = await b.view(lane, rule(0), 60_000);
    expect(v.walls).toEqual([{ window: "5h", resetsAt: until, code: "1308", until }]);
    expect([...v.instances].sort()).toEqual(["host-a:1", "host-b:2"]);
    await Bun.sleep(450);
    const later = await b.view(lane, rule(0), 60_000);
    expect(later.walls).toEqual([]);
    expect(later.instances).toEqual(["host-b:2"]);
  });
});
