import { expect, test } from "bun:test";
import { AdaptiveLimiter, LimiterRejected } from "../../src/resilience/limiter.ts";

test("admits up to the limit, queues the rest in order, releases hand slots on", async () => {
  const l = new AdaptiveLimiter({ max: 2, queueMax: 10, queueTimeoutMs: 10_000 });
  const a = await l.acquire();
  const b = await l.acquire();
  const order: string[] = [];
  const c = l.acquire().then((r) => {
    order.push("c");
    return r;
  });
  const d = l.acquire().then((r) => {
    order.push("d");
    return r;
  });
  expect(l.queueDepth).toBe(2);
  a();
  a(); // releasing twice is harmless
  (await c)();
  b();
  (await d)();
  expect(order).toEqual(["c", "d"]);
  expect(l.active).toBe(0);
});

test("overload halves the limit (never below 1); successes recover it additively up to max", () => {
  const l = new AdaptiveLimiter({ max: 8, queueMax: 10, queueTimeoutMs: 1000, decreaseEveryMs: 0 });
  l.onOverload();
  expect(l.limit).toBe(4);
  l.onOverload();
  l.onOverload();
  l.onOverload();
  expect(l.limit).toBe(1);
  for (let i = 0; i < 100; i++) l.onSuccess();
  expect(l.limit).toBe(8);
});

test("an overload while admitted streams flow sets the limit to that many: the provider refused one more than it admitted", async () => {
  // Unconfigured: 16 requests in flight, two of them streaming (onSuccess with their slot); a refusal engages at 2, not at 8.
  const l = new AdaptiveLimiter({ max: 0, queueMax: 100, queueTimeoutMs: 1000 });
  const slots = await Promise.all(Array.from({ length: 16 }, () => l.acquire()));
  l.onSuccess(slots[0]);
  l.onSuccess(slots[1]);
  l.onOverload();
  expect(l.limit).toBe(2);
  // One of them ends: the next refusal (past decreaseEveryMs or not) brings it to 1; none flowing, it halves as before.
  slots[0]!();
  l.onOverload();
  expect(l.limit).toBe(1);
  for (const s of slots) s();
  const m = new AdaptiveLimiter({ max: 8, queueMax: 10, queueTimeoutMs: 1000, decreaseEveryMs: 0 });
  m.onOverload();
  expect(m.limit).toBe(4);
});

test("the ceiling a concurrency refusal shows holds growth for the quiet spell: no probe past what the provider took", async () => {
  let now = 0;
  // Unconfigured: two streams flowing when the third is refused; successes do not grow past 2 until a quiet minute.
  const l = new AdaptiveLimiter({ max: 0, queueMax: 100, queueTimeoutMs: 1000, quietMs: 60_000, now: () => now });
  const slots = await Promise.all(Array.from({ length: 3 }, () => l.acquire()));
  l.onSuccess(slots[0]);
  l.onSuccess(slots[1]);
  l.onOverload(true);
  for (let i = 0; i < 50; i++) l.onSuccess();
  expect(l.limit).toBe(2);
  now = 59_999;
  l.onSuccess();
  expect(l.limit).toBe(2);
  now = 60_000;
  expect(l.limit).toBe(Number.POSITIVE_INFINITY); // let go: the next storm teaches it again
  for (const s of slots) s();
  // Configured at 8: three flowing when refused; held at 3, then grows again towards 8 once the spell is over.
  now = 0;
  const m = new AdaptiveLimiter({ max: 8, queueMax: 100, queueTimeoutMs: 1000, quietMs: 60_000, now: () => now });
  const held = await Promise.all(Array.from({ length: 4 }, () => m.acquire()));
  for (const s of held.slice(0, 3)) m.onSuccess(s);
  m.onOverload(true);
  expect(m.limit).toBe(3);
  for (let i = 0; i < 50; i++) m.onSuccess();
  expect(m.limit).toBe(3);
  now = 60_000;
  for (let i = 0; i < 50; i++) m.onSuccess();
  expect(m.limit).toBe(8);
  for (const s of held) s();
  // Another overload (a 529: busy, not "too many at once") sets the limit as well, but growth goes on.
  now = 0;
  const o = new AdaptiveLimiter({ max: 8, queueMax: 100, queueTimeoutMs: 1000, quietMs: 60_000, now: () => now });
  const busy = await Promise.all(Array.from({ length: 3 }, () => o.acquire()));
  for (const s of busy.slice(0, 2)) o.onSuccess(s);
  o.onOverload(false);
  expect(o.limit).toBe(2);
  for (let i = 0; i < 50; i++) o.onSuccess();
  expect(o.limit).toBe(8);
  for (const s of busy) s();
});

test("a lasting storm (an overload every 100 ms) halves once per decreaseEveryMs, down to one at a time", () => {
  let now = 0;
  const l = new AdaptiveLimiter({ max: 16, queueMax: 10, queueTimeoutMs: 1000, decreaseEveryMs: 250, now: () => now });
  const seen: number[] = [];
  for (; now <= 1_000; now += 100) {
    l.onOverload();
    seen.push(l.limit);
  }
  // Halvings at 0, 300, 600 and 900 ms (each the first overload 250 ms or more after the last halving).
  expect(seen).toEqual([8, 8, 8, 4, 4, 4, 2, 2, 2, 1, 1]);
});

test("a full queue, a long wait and an aborted client are rejected with their reason", async () => {
  const l = new AdaptiveLimiter({ max: 1, queueMax: 1, queueTimeoutMs: 50 });
  await l.acquire();
  const waiting = l.acquire();
  await expect(l.acquire()).rejects.toMatchObject({ reason: "queue_full" });
  await expect(waiting).rejects.toMatchObject({ reason: "queue_timeout" });
  const ac = new AbortController();
  const aborted = l.acquire(ac.signal);
  ac.abort();
  await expect(aborted).rejects.toBeInstanceOf(LimiterRejected);
  expect(l.queueDepth).toBe(0);
});
