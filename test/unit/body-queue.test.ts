import { expect, test } from "bun:test";
import { BodyQueue } from "../../src/upstream/body-queue.ts";

const b = (n: number) => new Uint8Array(n);

test("push says when to pause; reading below the high-water mark resumes the producer once", async () => {
  let resumed = 0;
  const q = new BodyQueue(10, { resume: () => resumed++, cancel: () => {} });
  expect(q.push(b(4))).toBe(true);
  expect(q.push(b(6))).toBe(false);
  expect((await q.read()).value?.byteLength).toBe(4);
  expect(resumed).toBe(1);
  expect((await q.read()).value?.byteLength).toBe(6);
  expect(resumed).toBe(1);
});

test("a waiting reader gets the next chunk directly; end and fail come after queued chunks", async () => {
  const q = new BodyQueue(100, { resume: () => {}, cancel: () => {} });
  const waiting = q.read();
  q.push(b(3));
  expect((await waiting).value?.byteLength).toBe(3);
  q.push(b(1));
  q.end();
  expect((await q.read()).done).toBe(false);
  expect((await q.read()).done).toBe(true);
  const f = new BodyQueue(100, { resume: () => {}, cancel: () => {} });
  f.push(b(2));
  f.fail(new Error("reset"));
  expect((await f.read()).value?.byteLength).toBe(2);
  await expect(f.read()).rejects.toThrow("reset");
});

test("cancel tells the producer once and drops what was queued", async () => {
  let cancelled = 0;
  const q = new BodyQueue(100, { resume: () => {}, cancel: () => cancelled++ });
  q.push(b(5));
  await q.cancel();
  await q.cancel();
  expect(cancelled).toBe(1);
  expect((await q.read()).done).toBe(true);
  expect(q.push(b(1))).toBe(false);
});

test("a read waiting when the reader cancels ends at once (the response's pull loop must not hang)", async () => {
  const q = new BodyQueue(100, { resume: () => {}, cancel: () => {} });
  const waiting = q.read();
  await q.cancel();
  const settled = await Promise.race([waiting, Bun.sleep(1_000).then(() => "hung" as const)]);
  expect(settled).toEqual({ done: true });
});
