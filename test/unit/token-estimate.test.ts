import { describe, expect, test } from "bun:test";
import { imageSize } from "../../src/routing/image-size.ts";
import { CHARS_PER_TOKEN, estimateInputTokens, IMAGE_MAX, imageTokens, PDF_PAGE, TOOL_USE_PROMPT } from "../../src/routing/token-estimate.ts";
import { prng } from "../support/usage-records.ts";

const b64 = (bytes: number[] | Buffer) => Buffer.from(bytes).toString("base64");

function png(width: number, height: number): string {
  const b = Buffer.alloc(64);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]).copy(b);
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b64(b);
}

function jpeg(width: number, height: number): string {
  // SOI, an APP0 segment to skip, then SOF0 with height before width.
  const app0 = [0xff, 0xe0, 0, 16, ...Buffer.from("JFIF\0"), 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const sof = [0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  return b64([0xff, 0xd8, ...app0, ...sof, 0xff, 0xd9]);
}

function gif(width: number, height: number): string {
  const b = Buffer.alloc(32);
  b.write("GIF89a", 0, "latin1");
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return b64(b);
}

function webpX(width: number, height: number): string {
  const b = Buffer.alloc(40);
  b.write("RIFF", 0, "latin1");
  b.write("WEBPVP8X", 8, "latin1");
  b.writeUIntLE(width - 1, 24, 3);
  b.writeUIntLE(height - 1, 27, 3);
  return b64(b);
}

const image = (data: string) => ({ type: "image", source: { type: "base64", media_type: "image/png", data } });
const user = (content: unknown) => ({ model: "m", messages: [{ role: "user", content }] });

describe("image sizes from their headers", () => {
  test.each([
    ["png", png(1000, 500)],
    ["jpeg", jpeg(1000, 500)],
    ["gif", gif(1000, 500)],
    ["webp", webpX(1000, 500)],
  ])("%s", (_kind, data) => {
    expect(imageSize(data)).toEqual({ width: 1000, height: 500 });
  });

  test("not an image, or too short: unknown", () => {
    expect(imageSize(b64(Buffer.from("hello, this is not an image at all, really")))).toBeUndefined();
    expect(imageSize("iVBORw0KGgo=")).toBeUndefined();
  });

  test("tokens: width × height / 750 after the long edge is scaled to 1568 px, at most 1600; unknown costs the most", () => {
    expect(imageTokens({ width: 1000, height: 500 })).toBe(667);
    expect(imageTokens({ width: 200, height: 200 })).toBe(54);
    expect(imageTokens({ width: 4000, height: 3000 })).toBe(IMAGE_MAX);
    expect(imageTokens(undefined)).toBe(IMAGE_MAX);
  });
});

describe("the input token estimate", () => {
  test("text: a token per CHARS_PER_TOKEN characters, plus framing", () => {
    const text = "x".repeat(36_000);
    const n = estimateInputTokens(user(text));
    expect(n).toBeGreaterThanOrEqual(36_000 / CHARS_PER_TOKEN);
    expect(n).toBeLessThan(36_000 / CHARS_PER_TOKEN + 20);
  });

  test("an image counts by its pixels, not by the length of its base64", () => {
    const big = png(1000, 500) + "A".repeat(1_000_000);
    expect(estimateInputTokens(user([image(big)]))).toBeLessThan(700);
    expect(estimateInputTokens(user([{ type: "image", source: { type: "url", url: "https://x.test/a.png" } }]))).toBeGreaterThanOrEqual(IMAGE_MAX);
  });

  test("tool definitions, tool_use and tool_result blocks count; offering tools adds the tool-use prompt once", () => {
    const tools = [{ name: "Read", description: "Reads a file.", input_schema: { type: "object", properties: { file_path: { type: "string" } } } }];
    const withTools = estimateInputTokens({ ...user("hi"), tools });
    expect(withTools - estimateInputTokens(user("hi"))).toBeGreaterThan(TOOL_USE_PROMPT);
    const result = "y".repeat(7_200);
    const loop = {
      model: "m",
      messages: [
        { role: "user", content: "read it" },
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "Read", input: { file_path: "/a/b" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: result }] }] },
      ],
    };
    expect(estimateInputTokens(loop)).toBeGreaterThan(7_200 / CHARS_PER_TOKEN);
    // Anthropic-defined tools cost their documented fixed amount.
    expect(estimateInputTokens({ ...user("hi"), tools: [{ type: "bash_20250124", name: "bash" }] }) - estimateInputTokens(user("hi"))).toBe(TOOL_USE_PROMPT + 245);
  });

  test("thinking of earlier turns is not counted (Anthropic drops it); the last assistant turn's is", () => {
    const thought = "z".repeat(36_000);
    const turns = (thinkingAt: number) => ({
      model: "m",
      messages: [
        { role: "user", content: "a" },
        { role: "assistant", content: [...(thinkingAt === 1 ? [{ type: "thinking", thinking: thought, signature: "s" }] : []), { type: "text", text: "b" }] },
        { role: "user", content: "c" },
        { role: "assistant", content: [...(thinkingAt === 3 ? [{ type: "thinking", thinking: thought, signature: "s" }] : []), { type: "tool_use", id: "t", name: "X", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: "d" }] },
      ],
    });
    expect(estimateInputTokens(turns(1))).toBeLessThan(100);
    expect(estimateInputTokens(turns(3))).toBeGreaterThan(10_000);
  });

  test("a PDF costs per page, pages counted in the file", () => {
    const pdf = (pages: number) => b64(Buffer.from(`%PDF-1.4\n1 0 obj << /Type /Pages /Count ${pages} >>\n${"<< /Type /Page >>\n".repeat(pages)}%%EOF`));
    const doc = (pages: number) => user([{ type: "document", source: { type: "base64", media_type: "application/pdf", data: pdf(pages) } }]);
    expect(estimateInputTokens(doc(3)) - estimateInputTokens(doc(1))).toBe(2 * PDF_PAGE);
  });

  test("adding anything to a request never lowers its estimate (seeded)", () => {
    const seed = Number(process.env.TOKENS_SEED ?? Date.now() % 100_000);
    console.log(`token estimate seed: ${seed} (TOKENS_SEED=${seed} repeats it)`);
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const text = () => "w".repeat(Math.floor(rnd() * 5_000));
    const block = () =>
      pick([
        () => ({ type: "text", text: text() }),
        () => image(png(1 + Math.floor(rnd() * 3000), 1 + Math.floor(rnd() * 3000))),
        () => ({ type: "tool_use", id: "t", name: "Bash", input: { command: text() } }),
        () => ({ type: "tool_result", tool_use_id: "t", content: text() }),
        () => ({ type: "web_search_tool_result", tool_use_id: "s", content: [{ type: "web_search_result", url: "https://x.test", title: text() }] }),
      ])();
    let body: { model: string; system?: unknown; messages: { role: string; content: unknown[] }[]; tools?: unknown[] } = { model: "m", messages: [] };
    let last = estimateInputTokens(body);
    for (let i = 0; i < 200; i++) {
      const step = pick(["message", "block", "tool", "system"]);
      if (step === "message" || body.messages.length === 0) body = { ...body, messages: [...body.messages, { role: body.messages.length % 2 ? "assistant" : "user", content: [block()] }] };
      else if (step === "block") body.messages.at(-1)!.content.push(block());
      else if (step === "tool") body = { ...body, tools: [...(body.tools ?? []), { name: `T${i}`, description: text(), input_schema: { type: "object" } }] };
      else body = { ...body, system: [...((body.system as unknown[]) ?? []), { type: "text", text: text() }] };
      const now = estimateInputTokens(body);
      if (now < last) throw new Error(`seed ${seed}, step ${i} (${step}): the estimate went from ${last} down to ${now}`);
      last = now;
    }
  });
});
