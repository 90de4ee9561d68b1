import { describe, expect, test } from "bun:test";
import type { LimitRule } from "../../src/cluster/fleet.ts";
import { SharedLimiter, type SharedLimiterOptions } from "../../src/cluster/shared-limiter.ts";
import { AdaptiveLimiter, LimiterRejected, type Release } from "../../src/resilience/limiter.ts";
import { FakeFleet } from "../support/fake-fleet.ts";

const RULE: LimitRule = { max: 0, quietMs: 60_000, decreaseEveryMs: 250 };
function limiter(fleet: FakeFleet, o: Partial<SharedLimiterOptions> & { localMax?: number; name?: string } = {}) {
  const local = new AdaptiveLimiter({ max: o.localMax ?? 0, queueMax: 8, queueTimeoutMs: 10_000 });
  const shared = new SharedLimiter({ lane: "zai", fleet, local, instance: () => o.name ?? "a:1", leaseMs: 60_000, rule: RULE, queueMax: 4, queueTimeoutMs: 5_000, pollMs: 20, ...o });
  return { local, shared };
}
const settled = async <T>(p: Promise<T>, ms = 100): Promise<T | "pending"> => Promise.race([p, Bun.sleep(ms).then(() => "pending" as const)]);
const rejection = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e instanceof LimiterRejected ? e.reason : String(e);
  }
  return "resolved";
};

describe("a shared lane's limiter", () => {
  test("slots are the fleet's: granted while the fleet has them, queued beyond, let in when a slot comes free anywhere", async () => {
    const fleet = new FakeFleet();
    fleet.limit = 2;
    const { shared } = limiter(fleet);
    const a = await shared.acquire();
    await shared.acquire();
    expect(fleet.slots.size).toBe(2);
    const third = shared.acquire();
    expect(await settled(third)).toBe("pending");
    expect(shared.queueDepth).toBe(1);
    a(); // a local release wakes the queue
    const r = await settled(third, 1_000);
    expect(typeof r).toBe("function");
    expect(fleet.slots.size).toBe(2);
    // Another instance's slot coming free is found by the poll.
    const other = limiter(fleet, { name: "b:2" }).shared;
    const fourth = other.acquire();
    expect(await settled(fourth)).toBe("pending");
    fleet.slots.delete([...fleet.slots.keys()][0]!);
    expect(typeof (await settled(fourth, 1_000))).toBe("function");
    expect([...fleet.slots.keys()].some((h) => h.startsWith("b:2/"))).toBe(true);
  });

  test("the queue is bounded as the local limiter's: queue_full, queue_timeout, aborted", async () => {
    const fleet = new FakeFleet();
    fleet.limit = 1;
    const { shared } = limiter(fleet, { queueMax: 2, queueTimeoutMs: 150 });
    await shared.acquire();
    const ac = new AbortController();
    const waiting = [shared.acquire(), shared.acquire(ac.signal)];
    expect(await rejection(shared.acquire())).toBe("queue_full");
    ac.abort();
    expect(await rejection(waiting[1]!)).toBe("aborted");
    expect(await rejection(waiting[0]!)).toBe("queue_timeout");
    expect(shared.queueDepth).toBe(0);
  });

  test("a fleet that is down: the local limiter at once; an operation that fails: the local limiter for that request", async () => {
    const fleet = new FakeFleet();
    fleet.down();
    const { shared, local } = limiter(fleet, { localMax: 1 });
    const first = await shared.acquire();
    expect(local.active).toBe(1);
    expect(await settled(shared.acquire())).toBe("pending"); // the local limit of 1
    first();
    fleet.back();
    const failing = new FakeFleet();
    failing.acquire = async () => {
      throw new Error("no answer within 250 ms");
    };
    const l2 = limiter(failing);
    await l2.shared.acquire();
    expect(l2.local.active).toBe(1);
  });

  test("requests waiting when the fleet goes down are handed to the local limiter at once, not after their queue timeout", async () => {
    const fleet = new FakeFleet();
    fleet.limit = 1;
    const { shared, local } = limiter(fleet, { queueTimeoutMs: 30_000 });
    await shared.acquire();
    const waiting = [shared.acquire(), shared.acquire()];
    expect(await settled(Promise.race(waiting))).toBe("pending");
    fleet.down();
    // The local limiter takes them, at its share of the fleet's limit (1): one in, one in its queue.
    expect(typeof (await settled(Promise.race(waiting), 2_000))).toBe("function");
    expect(local.active).toBe(1);
    expect(local.queueDepth).toBe(1);
  });

  test("falling back, the local limiter starts at this instance's share of the fleet's limit as last heard", async () => {
    const fleet = new FakeFleet();
    fleet.limit = 6;
    const { shared, local } = limiter(fleet, { instances: () => 3 });
    (await shared.acquire())();
    expect(local.engaged).toBe(false);
    fleet.down();
    const held = [await shared.acquire(), await shared.acquire()];
    expect(local.limit).toBe(2);
    expect(await settled(shared.acquire())).toBe("pending");
    for (const r of held) r();
  });

  test("a held slot's lease is renewed while it is held, and no longer once released", async () => {
    const fleet = new FakeFleet();
    const { shared } = limiter(fleet, { leaseMs: 300 });
    const release = await shared.acquire();
    await Bun.sleep(450);
    const renewals = fleet.calls.filter((c) => c.startsWith("renew")).length;
    expect(renewals).toBeGreaterThanOrEqual(2);
    expect(fleet.slots.size).toBe(1); // kept past its first lease
    release();
    await Bun.sleep(250);
    expect(fleet.calls.filter((c) => c.startsWith("renew")).length).toBe(renewals);
    expect(fleet.slots.size).toBe(0);
  });

  test("verdicts move the fleet's limit while it answers, the local one while it does not", async () => {
    const fleet = new FakeFleet();
    const { shared, local } = limiter(fleet);
    const held = await Promise.all([shared.acquire(), shared.acquire(), shared.acquire(), shared.acquire()]);
    shared.onOverload();
    await Bun.sleep(10);
    expect(fleet.limit).toBe(2);
    expect(shared.limit).toBe(2);
    expect(local.engaged).toBe(false);
    fleet.down();
    shared.onOverload();
    expect(local.engaged).toBe(true);
    expect(shared.limit).toBe(local.limit);
    for (const r of held) r();
  });

  test("a success names its slot's holder to the fleet: a refusal while two flow sets the fleet's limit to two, and it stays there", async () => {
    const fleet = new FakeFleet();
    const { shared } = limiter(fleet);
    const held = await Promise.all([shared.acquire(), shared.acquire(), shared.acquire()]);
    shared.onSuccess(held[0]);
    shared.onSuccess(held[1]);
    await Bun.sleep(10);
    expect(fleet.flowing.size).toBe(2);
    shared.onOverload(true);
    await Bun.sleep(10);
    expect(fleet.limit).toBe(2);
    for (let i = 0; i < 5; i++) shared.onSuccess(held[0]);
    await Bun.sleep(10);
    expect(shared.limit).toBe(2);
    for (const r of held) r();
    await Bun.sleep(10);
    expect(fleet.flowing.size).toBe(0);
  });

  test("seeded: two instances' limiters on one fleet never hold more than its limit, and every request is served", async () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
    console.log(`shared limiter seed ${seed} (SEED=${seed} replays it)`);
    let s = seed;
    const rand = () => (s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const fleet = new FakeFleet();
    fleet.limit = 3;
    const instances = [limiter(fleet, { name: "a:1", queueMax: 100, random: rand }).shared, limiter(fleet, { name: "b:2", queueMax: 100, random: rand }).shared];
    let inFlight = 0;
    let peak = 0;
    const one = async (i: number) => {
      await Bun.sleep(Math.floor(rand() * 30));
      const release: Release = await instances[i % 2]!.acquire();
      inFlight++;
      peak = Math.max(peak, inFlight);
      expect(fleet.slots.size).toBeLessThanOrEqual(3);
      await Bun.sleep(Math.floor(rand() * 20));
      inFlight--;
      release();
    };
    await Promise.all(Array.from({ length: 40 }, (_, i) => one(i)));
    expect(peak).toBe(3);
    await Bun.sleep(20);
    expect(fleet.slots.size).toBe(0);
  });
});
