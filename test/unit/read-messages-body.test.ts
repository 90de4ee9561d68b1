import { describe, expect, test } from "bun:test";
import { parseMessagesBody } from "../../src/server/request-body.ts";

const enc = new TextEncoder();

/** `{"model":"m","x":[{},...]}` with exactly `nodes` JSON values (the object, "m", the array, the rest {}). */
const withNodes = (nodes: number) => enc.encode(`{"model":"m","x":[${Array.from({ length: nodes - 3 }, () => "{}").join(",")}]}`);

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
