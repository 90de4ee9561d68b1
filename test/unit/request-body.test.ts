import { describe, expect, test } from "bun:test";
import { leadingModel, MAX_MODEL_CHARS, parseMessagesBody } from "../../src/server/request-body.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("leadingModel: the model of a body that names it first, read without parsing", () => {
  test("reads the model Claude Code and the SDKs put first", () => {
    expect(leadingModel(bytes('{"model":"claude-sonnet-4-5","messages":[]}'))).toBe("claude-sonnet-4-5");
    expect(leadingModel(bytes('{"model":"glm-4.6[1m]:x/y"}'))).toBe("glm-4.6[1m]:x/y");
  });

  test("agrees with the parser on every body it reads", () => {
    for (const model of ["a", "claude-opus-4-8", "m".repeat(MAX_MODEL_CHARS), "x y~!#$%&'()*+,-./"]) {
      const body = bytes(JSON.stringify({ model, max_tokens: 1, messages: [{ role: "user", content: "hi" }] }));
      const parsed = parseMessagesBody(body);
      expect(leadingModel(body)).toBe(model);
      expect(parsed.ok && parsed.body.model).toBe(model);
    }
  });

  test("gives up (the body is parsed instead) on anything but a plain leading model", () => {
    const cases = [
      '{"messages":[],"model":"m"}', // not first
      '{ "model":"m"}', // whitespace
      '{"model": "m"}',
      '{"model":"m\\u0041"}', // an escape
      '{"model":"m\\"x"}',
      '{"model":""}', // empty: the parser's message says why
      '{"model":7}',
      '{"model":"unterminated',
      '{"model":"',
      '{"mod',
      "",
      `{"model":"${"m".repeat(MAX_MODEL_CHARS + 1)}"}`, // too long
      '{"model":"tab\there"}', // a control character
    ];
    for (const c of cases) expect(leadingModel(bytes(c))).toBeUndefined();
    // Non-ASCII bytes (é, a line separator, a bidi override) are never read as a model here.
    expect(leadingModel(bytes('{"model":"modèle"}'))).toBeUndefined();
    expect(leadingModel(bytes('{"model":"a\u2028b"}'))).toBeUndefined();
    expect(leadingModel(bytes('{"model":"a\u202eb"}'))).toBeUndefined();
    expect(leadingModel(new Uint8Array([...bytes('{"model":"a'), 0xff, 0x22]))).toBeUndefined();
  });

  test("is only a hint: a body that names a second model is caught by comparing with the parser", () => {
    const body = bytes('{"model":"cheap","messages":[],"model":"other"}');
    const parsed = parseMessagesBody(body);
    expect(leadingModel(body)).toBe("cheap");
    expect(parsed.ok && parsed.body.model).toBe("other");
  });
});
