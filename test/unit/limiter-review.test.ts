import { describe, expect, test } from "bun:test";
import { AdaptiveLimiter, type Release } from "../../src/resilience/limiter.ts";

/**
 * Review of the adaptive limiter's ceiling, halving clock and let-go (branch rev). Each test
 * states what the README / limiter.ts promise and fails on what the code does.
 */

const settled = async <T>(p: Promise<T>, ms: number): Promise<T | "pending"> => Promise.race([p, Bun.sleep(ms).then(() => "pending" as const)]);

describe("review: the ceiling a 1302 taught is forgotten after its quiet spell", () => {
  test("configured at 8: a 1302 with 2 flowing, a quiet minute (grown back to 8), then a 529 with none flowing halves to 4 and growth goes back to 8", async () => {
    let now = 0;
    const l = new AdaptiveLimiter({ max: 8, queueMax: 100, queueTimeoutMs: 1000, quietMs: 60_000, now: () => now });
    const slots = await Promise.all(Array.from({ length: 3 }, () => l.acquire()));
    l.onSuccess(slots[0]);
    l.onSuccess(slots[1]);
    l.onOverload(true);
    expect(l.limit).toBe(2);
    for (const s of slots) s();
    now = 61_000; // a quiet minute: the ceiling no longer holds
    for (let i = 0; i < 100; i++) l.onSuccess();
    expect(l.limit).toBe(8);
    now = 3_600_000; // an hour later the provider is busy: a 529, nothing flowing
    l.onOverload(false);
    expect(l.limit).toBe(4);
    // README: "other overloads ... halve it; each admitted stream adds 1/limit back". The 1302 of an hour ago is long over.
    for (let i = 0; i < 100; i++) l.onSuccess();
    expect(l.limit).toBe(8); // fails: 4 — the ceiling of 2 from an hour ago caps growth again for a minute after every later overload
  });

  test("unconfigured: the limit let go after a quiet minute; an hour later a 529 with 6 flowing engages at 6 and growth is not capped by the old ceiling of 1", async () => {
    let now = 0;
    const l = new AdaptiveLimiter({ max: 0, queueMax: 100, queueTimeoutMs: 1000, quietMs: 60_000, now: () => now });
    const first = await Promise.all(Array.from({ length: 2 }, () => l.acquire()));
    l.onSuccess(first[0]);
    l.onOverload(true);
    expect(l.limit).toBe(1);
    for (const s of first) s();
    now = 61_000;
    expect(l.limit).toBe(Number.POSITIVE_INFINITY); // let go
    now = 3_600_000;
    const storm: Release[] = await Promise.all(Array.from({ length: 8 }, () => l.acquire()));
    for (const s of storm.slice(0, 6)) l.onSuccess(s);
    l.onOverload(false); // busy, not "too many at once"
    expect(l.limit).toBe(6);
    for (let i = 0; i < 50; i++) l.onSuccess();
    expect(l.limit).toBeGreaterThan(6); // fails: 6 — the let-go limiter kept #ceiling = 1 and the 529 re-armed it
    for (const s of storm) s();
  });

  test("unconfigured, seeded by a shared lane falling back an hour after a 1302 taught 1: growth from the seed is not capped at 1", async () => {
    let now = 0;
    const l = new AdaptiveLimiter({ max: 0, queueMax: 100, queueTimeoutMs: 1000, quietMs: 60_000, now: () => now });
    const first = await Promise.all(Array.from({ length: 2 }, () => l.acquire()));
    l.onSuccess(first[0]);
    l.onOverload(true);
    for (const s of first) s();
    now = 3_600_000;
    expect(l.limit).toBe(Number.POSITIVE_INFINITY);
    l.seed(4); // SharedLimiter.#local: the fleet went down, this instance's share of the fleet's limit
    for (let i = 0; i < 50; i++) l.onSuccess();
    expect(l.limit).toBeGreaterThan(4); // fails: 4 — seed() sets #lastOverload = now, which re-arms the ceiling of 1 from an hour ago
  });
});

describe("review: an unconfigured limit that lets go lets the queue in", () => {
  test("engaged at 1 with two long streams held: a queued request is admitted once the quiet spell has passed, without waiting for a release", async () => {
    // Real clock (the let-go needs a timer): quietMs 150.
    const l = new AdaptiveLimiter({ max: 0, queueMax: 10, queueTimeoutMs: 5_000, quietMs: 150 });
    const a = await l.acquire();
    const b = await l.acquire();
    l.onOverload(); // none flowing: engage at half the 2 in flight = 1
    expect(l.limit).toBe(1);
    const c = l.acquire();
    expect(l.queueDepth).toBe(1);
    // README: "a minute without an overload lets it go again". 400 ms > 150 ms without an overload.
    const got = await settled(c, 400);
    expect(got).not.toBe("pending"); // fails: still queued — nothing pumps the queue when the limit lets go; it waits for a release or its queue_timeout
    a();
    b();
    const late = await c;
    late();
  });
});
