import { describe, expect, test } from "bun:test";
import { stripBillingCch } from "../../src/rewrite/billing-line.ts";
import { rewriteForLane } from "../../src/rewrite/index.ts";
import { inlineSystemToUser } from "../../src/rewrite/inline-system.ts";
import { dropSignedThinking } from "../../src/rewrite/signed-thinking.ts";

const thinking = { type: "thinking", thinking: "hmm", signature: "EqQBsig" };

describe("dropSignedThinking", () => {
  test("removes signed thinking and redacted thinking from assistant turns only", () => {
    const body = {
      messages: [
        { role: "user", content: [{ type: "text", text: "q" }] },
        { role: "assistant", content: [thinking, { type: "redacted_thinking", data: "x" }, { type: "text", text: "a" }] },
        { role: "user", content: "thanks" },
      ],
    };
    const out = dropSignedThinking(body);
    expect(out.messages).toEqual([body.messages[0], { role: "assistant", content: [{ type: "text", text: "a" }] }, body.messages[2]]);
    expect(body.messages[1]!.content).toHaveLength(3); // input untouched
  });
  test("unsigned thinking stays; nothing to do returns the same object", () => {
    const body = { messages: [{ role: "assistant", content: [{ type: "thinking", thinking: "t" }] }] };
    expect(dropSignedThinking(body)).toBe(body);
  });
  test("a turn left empty keeps a placeholder", () => {
    const out = dropSignedThinking({ messages: [{ role: "assistant", content: [thinking] }] });
    expect(out.messages).toEqual([{ role: "assistant", content: [{ type: "text", text: "(thinking omitted)" }] }]);
  });
});

describe("inlineSystemToUser", () => {
  const sys = (text: string) => ({ role: "system", content: text });
  const wrapped = (text: string) => ({ type: "text", text: `<system-reminder>\n${text}\n</system-reminder>` });
  test("joins the user turn before it, in place", () => {
    const out = inlineSystemToUser({ messages: [{ role: "user", content: "hi" }, sys("be brief"), { role: "assistant", content: "ok" }] });
    expect(out.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "hi" }, wrapped("be brief")] },
      { role: "assistant", content: "ok" },
    ]);
  });
  test("after an assistant turn it goes before the next user turn's content", () => {
    const out = inlineSystemToUser({
      messages: [{ role: "assistant", content: "a" }, sys("note"), { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: "r" }] }],
    });
    expect(out.messages).toEqual([
      { role: "assistant", content: "a" },
      { role: "user", content: [wrapped("note"), { type: "tool_result", tool_use_id: "t", content: "r" }] },
    ]);
  });
  test("between two assistant turns or at the end it becomes a user turn of its own", () => {
    const out = inlineSystemToUser({ messages: [{ role: "assistant", content: "a" }, sys("x"), { role: "assistant", content: "b" }, sys("y")] });
    expect(out.messages).toEqual([
      { role: "assistant", content: "a" },
      { role: "user", content: [wrapped("x")] },
      { role: "assistant", content: "b" },
      { role: "user", content: [wrapped("y")] },
    ]);
  });
  test("no system entries: same object", () => {
    const body = { messages: [{ role: "user", content: "hi" }] };
    expect(inlineSystemToUser(body)).toBe(body);
  });
});

describe("stripBillingCch", () => {
  const line = "x-anthropic-billing-header: cc_version=2.1.330.abc; cc_entrypoint=cli; cch=9f3a1;";
  test("removes only the cch value, in block or string form", () => {
    const out = stripBillingCch({
      system: [
        { type: "text", text: line },
        { type: "text", text: "You are Claude Code. cch=keep" },
      ],
    });
    expect(out.system).toEqual([
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.330.abc; cc_entrypoint=cli;" },
      { type: "text", text: "You are Claude Code. cch=keep" },
    ]);
    expect(stripBillingCch({ system: line }).system).toBe("x-anthropic-billing-header: cc_version=2.1.330.abc; cc_entrypoint=cli;");
  });
  test("two requests differing only in cch become identical", () => {
    const a = stripBillingCch({ system: [{ type: "text", text: line }] });
    const b = stripBillingCch({ system: [{ type: "text", text: line.replace("9f3a1", "0000b") }] });
    expect(a).toEqual(b);
  });
});

describe("rewriteForLane", () => {
  const body = {
    model: "claude-haiku-4-5",
    system: [{ type: "text", text: "x-anthropic-billing-header: cch=1;" }],
    messages: [{ role: "assistant", content: [thinking, { type: "text", text: "a" }] }],
  };
  test("anthropic lanes get the body untouched (undefined = send the original bytes)", () => {
    expect(rewriteForLane(body, { dialect: "anthropic" }, "claude-haiku-4-5")).toBeUndefined();
    expect(rewriteForLane(body, { dialect: "anthropic" }, "other")).toEqual({ ...body, model: "other" });
  });
  test("other dialects get the model map and every rewrite", () => {
    const out = rewriteForLane(body, { dialect: "zai" }, "glm-4.5-air")!;
    expect(out.model).toBe("glm-4.5-air");
    expect(JSON.stringify(out)).not.toContain("signature");
    expect(JSON.stringify(out)).not.toContain("cch=");
  });
});
