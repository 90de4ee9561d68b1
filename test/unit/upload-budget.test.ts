import { describe, expect, test } from "bun:test";
import { UpstreamFailure } from "../../src/upstream/failure.ts";
import { UploadBudget } from "../../src/upstream/upload-budget.ts";

const never = new AbortController().signal;
const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await Bun.sleep(0);
  return done;
};

describe("upload budget (request bodies uploading at once on an HTTP/2 connection)", () => {
  test("bodies within the budget go at once; the next waits until enough is released, first come first served", async () => {
    const b = new UploadBudget(10);
    const r1 = await b.acquire(6, never);
    const r2 = await b.acquire(4, never);
    expect(b.inUse).toBe(10);
    const third = b.acquire(5, never);
    const fourth = b.acquire(1, never); // would fit after the third, but does not jump the queue
    expect(await settled(third)).toBe(false);
    expect(await settled(fourth)).toBe(false);
    r1();
    r1(); // releasing twice gives back once
    const r3 = await third;
    const r4 = await fourth;
    expect(b.inUse).toBe(10);
    r2();
    r3();
    r4();
    expect(b.inUse).toBe(0);
  });

  test("a body larger than the whole budget goes alone", async () => {
    const b = new UploadBudget(10);
    const big = await b.acquire(50, never);
    const small = b.acquire(1, never);
    expect(await settled(small)).toBe(false);
    big();
    (await small)();
    expect(b.inUse).toBe(0);
  });

  test("an aborted wait leaves the queue, fails as client_abort, and lets those behind it in", async () => {
    const b = new UploadBudget(10);
    const r1 = await b.acquire(8, never);
    const abort = new AbortController();
    const waiting = b.acquire(5, abort.signal);
    const behind = b.acquire(2, never);
    expect(await settled(behind)).toBe(false);
    abort.abort();
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect((err as UpstreamFailure).failureClass).toBe("client_abort");
    expect(b.inUse).toBe(10);
    (await behind)();
    r1();
    expect(b.inUse).toBe(0);
    await expect(b.acquire(1, abort.signal)).rejects.toBeInstanceOf(UpstreamFailure);
  });
});
