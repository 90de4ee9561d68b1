import { describe, expect, test } from "bun:test";
import { LimitsSchema } from "../../src/config/schema.ts";
import { BodyBudget } from "../../src/server/body-budget.ts";
import { readChecked } from "../../src/server/read-messages-body.ts";
import { parseMessagesBody } from "../../src/server/request-body.ts";

const enc = new TextEncoder();
const limits = LimitsSchema.parse({ max_json_nodes: 1_000 });

/** `{"model":"m","x":[{},...]}` with exactly `nodes` JSON values (the object, "m", the array, the rest {}). */
const withNodes = (nodes: number) => enc.encode(`{"model":"m","x":[${Array.from({ length: nodes - 3 }, () => "{}").join(",")}]}`);

/** A request whose body arrives when the test says so (or fails, as a client that leaves). */
function pendingRequest(body: Uint8Array, o: { declare: boolean }) {
  let push: (c: ReadableStreamDefaultController<Uint8Array>) => void = () => {};
  const controller = new Promise<ReadableStreamDefaultController<Uint8Array>>((resolve) => (push = resolve));
  const stream = new ReadableStream<Uint8Array>({ start: (c) => push(c) });
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.declare) headers["content-length"] = String(body.length);
  const req = new Request("http://x/v1/messages", { method: "POST", body: stream, headers, duplex: "half" } as RequestInit);
  return {
    req,
    async send(bytes = body) {
      const c = await controller;
      c.enqueue(bytes);
    },
    async end() {
      (await controller).close();
    },
    async fail() {
      (await controller).error(new Error("client gone"));
    },
  };
}

describe("limits.max_json_nodes", () => {
  test("a body with exactly the limit passes; one value more is 413 request_too_large, naming the key", () => {
    expect(parseMessagesBody(withNodes(1_000), 1_000).ok).toBe(true);
    const r = parseMessagesBody(withNodes(1_001), 1_000);
    expect(r).toMatchObject({ ok: false, status: 413, errType: "request_too_large" });
    expect(!r.ok && r.message).toContain("limits.max_json_nodes");
    // Refused before JSON.parse: this one is not even JSON after its first 100 KB.
    const broken = new Uint8Array([...withNodes(50_000).subarray(0, 100_000), 0xff, 0xff]);
    expect(parseMessagesBody(broken, 1_000)).toMatchObject({ ok: false, status: 413 });
    expect(parseMessagesBody(broken)).toMatchObject({ ok: false, status: 400 });
  });

  test("the check's tree goes to its first reader and is not kept: later reads parse the bytes again", () => {
    const r = parseMessagesBody(enc.encode('{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}'));
    if (!r.ok) throw new Error(r.message);
    expect(r.body).toMatchObject({ model: "m", stream: true });
    const first = r.body.json;
    const second = r.body.json;
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(r.body.json).not.toBe(second);
  });
});

describe("BodyBudget", () => {
  test("takes up to its capacity, gives back, and always takes a body alone", () => {
    const b = new BodyBudget(100);
    expect(b.take(60)).toBe(true);
    expect(b.take(50)).toBe(false);
    expect(b.take(40)).toBe(true);
    expect(b.held).toBe(100);
    b.give(100);
    expect(b.held).toBe(0);
    expect(b.take(500)).toBe(true);
    expect(b.take(1)).toBe(false);
    b.give(500);
    expect(b.held).toBe(0);
  });
});

describe("readChecked: the budget is held while a body is read and checked, and given back however that ends", () => {
  const body = enc.encode(JSON.stringify({ model: "m", messages: [{ role: "user", content: "x".repeat(600) }] }));

  test.each([
    ["a good body", 200, body],
    ["invalid JSON", 400, enc.encode('{"model":')],
    ["too many JSON values", 413, withNodes(5_000)],
  ])("%s (declared length) → %d", async (_name, status, bytes) => {
    const budget = new BodyBudget(1_000_000);
    const p = pendingRequest(bytes, { declare: true });
    const read = readChecked(p.req, limits, budget);
    await Bun.sleep(5);
    expect(budget.held).toBe(bytes.length);
    await p.send();
    await p.end();
    const r = await read;
    expect(r.ok ? 200 : r.status).toBe(status);
    expect(budget.held).toBe(0);
  });

  test("a second body past the budget gets 503 with retry-after, unread; the first then passes and gives its share back", async () => {
    const budget = new BodyBudget(1_000);
    const first = pendingRequest(body, { declare: true });
    const reading = readChecked(first.req, limits, budget);
    await Bun.sleep(5);
    const second = pendingRequest(body, { declare: true });
    const refused = await readChecked(second.req, limits, budget);
    expect(refused).toMatchObject({ ok: false, status: 503, errType: "api_error", headers: { "retry-after": "1" } });
    expect(!refused.ok && refused.message).toContain("limits.max_inflight_body_mb");
    expect(!refused.ok && refused.headers.connection).toBeUndefined();
    await first.send();
    await first.end();
    expect((await reading).ok).toBe(true);
    expect(budget.held).toBe(0);
  });

  test("a chunked body is held chunk by chunk: the one that passes the budget ends it with 503 and connection: close", async () => {
    const budget = new BodyBudget(1_000);
    expect(budget.take(700)).toBe(true);
    const p = pendingRequest(body, { declare: false });
    const read = readChecked(p.req, limits, budget);
    await p.send(body.subarray(0, 200));
    await Bun.sleep(5);
    expect(budget.held).toBe(900);
    await p.send(body.subarray(200, 400));
    const r = await read;
    expect(r).toMatchObject({ ok: false, status: 503, headers: { connection: "close", "retry-after": "1" } });
    expect(budget.held).toBe(700);
  });

  test("a client that leaves mid-body gives its share back", async () => {
    const budget = new BodyBudget(1_000_000);
    const p = pendingRequest(body, { declare: false });
    const read = readChecked(p.req, limits, budget);
    await p.send(body.subarray(0, 100));
    await Bun.sleep(5);
    expect(budget.held).toBe(100);
    await p.fail();
    expect(await read).toMatchObject({ ok: false, status: 499 });
    expect(budget.held).toBe(0);
  });
});
