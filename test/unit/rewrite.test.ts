import { describe, expect, test } from "bun:test";
import { stripBillingCch } from "../../src/rewrite/billing-line.ts";
import { rewriteForLane } from "../../src/rewrite/index.ts";
import { inlineSystemToUser } from "../../src/rewrite/inline-system.ts";
import { dropSignedThinking } from "../../src/rewrite/signed-thinking.ts";
import { Signers } from "../../src/rewrite/signers.ts";

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
    expect(rewriteForLane(body, { dialect: "anthropic", base_url: "https://a.example" }, "claude-haiku-4-5")).toBeUndefined();
    expect(rewriteForLane(body, { dialect: "anthropic", base_url: "https://a.example" }, "other")).toEqual({ ...body, model: "other" });
  });
  test("other dialects get the model map and every rewrite", () => {
    const out = rewriteForLane(body, { dialect: "zai", base_url: "https://z.example" }, "glm-4.5-air")!;
    expect(out.model).toBe("glm-4.5-air");
    expect(JSON.stringify(out)).not.toContain("signature");
    expect(JSON.stringify(out)).not.toContain("cch=");
  });
});

describe("thinking blocks another provider signed never reach an Anthropic lane", () => {
  const A = { dialect: "anthropic" as const, base_url: "https://anthropic.example" };
  const zaiThinking = { type: "thinking", thinking: "zai's", signature: "sig-from-zai" };
  const ownThinking = { type: "thinking", thinking: "anthropic's", signature: "sig-from-anthropic" };
  const unknown = { type: "thinking", thinking: "from before ccp started", signature: "sig-never-seen" };
  const toolUse = { type: "tool_use", id: "t1", name: "f", input: {} };
  const signers = new Signers();
  signers.record("https://zai.example/api/anthropic", ["sig-from-zai"]);
  signers.record("https://anthropic.example", ["sig-from-anthropic"]);
  const conversation = (last: unknown[], thinking = true) => ({
    model: "claude-sonnet-4-6",
    ...(thinking ? { thinking: { type: "enabled", budget_tokens: 1024 } } : {}),
    messages: [
      { role: "user", content: "q" },
      { role: "assistant", content: [ownThinking, { type: "text", text: "a" }] },
      { role: "user", content: "q2" },
      { role: "assistant", content: last },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "r" }] },
    ],
  });

  test("the foreign block goes, the lane's own and unknown ones stay; thinking is turned off when the open tool loop lost its block", () => {
    const out = rewriteForLane(conversation([zaiThinking, toolUse]), A, "claude-sonnet-4-6", { signers })!;
    const msgs = out.messages as { content: Record<string, unknown>[] }[];
    expect(msgs[1]!.content[0]!.signature).toBe("sig-from-anthropic");
    expect(msgs[3]!.content).toEqual([toolUse]);
    expect(out.thinking).toBeUndefined();
  });

  test("a request with nothing foreign is sent as it came (undefined: the original bytes)", () => {
    expect(rewriteForLane(conversation([ownThinking, toolUse]), A, "claude-sonnet-4-6", { signers })).toBeUndefined();
    expect(rewriteForLane(conversation([unknown, toolUse]), A, "claude-sonnet-4-6", { signers })).toBeUndefined();
  });

  test("thinking stays on when the last assistant message still starts with thinking, or has no tool_use", () => {
    const out = rewriteForLane(
      { ...conversation([ownThinking, toolUse]), messages: [{ role: "assistant", content: [zaiThinking, { type: "text", text: "x" }] }, ...conversation([ownThinking, toolUse]).messages] },
      A,
      "claude-sonnet-4-6",
      { signers },
    )!;
    expect(out.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
    const noTool = rewriteForLane(conversation([zaiThinking, { type: "text", text: "done" }]), A, "claude-sonnet-4-6", { signers })!;
    expect(noTool.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
  });

  test("dropAll drops every thinking block, its own included (the upstream refused a signature ccp could not place)", () => {
    const out = rewriteForLane(conversation([unknown, toolUse]), A, "claude-sonnet-4-6", { dropAll: true })!;
    expect(JSON.stringify(out)).not.toContain('"thinking":"');
    expect(out.thinking).toBeUndefined();
  });

  test("Signers is bounded: the least recently seen are forgotten first", () => {
    const s = new Signers(2);
    s.record("a", ["1", "2"]);
    s.record("b", ["3"]);
    expect([s.signerOf("1"), s.signerOf("2"), s.signerOf("3")]).toEqual([undefined, "a", "b"]);
  });
});

describe("another dialect keeps only the signed thinking it made", () => {
  test("a zai lane gets its own signed block back, not Anthropic's nor one ccp cannot place", () => {
    const Z = { dialect: "zai" as const, base_url: "https://zai.example/api/anthropic" };
    const signers = new Signers();
    signers.record(Z.base_url, ["sig-zai"]);
    signers.record("https://anthropic.example", ["sig-anthropic"]);
    const block = (signature: string) => ({ type: "thinking", thinking: signature, signature });
    const body = { model: "m", messages: [{ role: "assistant", content: [block("sig-zai"), block("sig-anthropic"), block("sig-unknown"), { type: "text", text: "t" }] }] };
    const out = rewriteForLane(body, Z, "m", { signers })!;
    expect((out.messages as { content: { signature?: string }[] }[])[0]!.content.map((b) => b.signature ?? "text")).toEqual(["sig-zai", "text"]);
  });
});
