/**
 * A Messages body shaped like Claude Code's, of about the size asked for: the shapes of a
 * real first turn (captured from the Claude Code CLI: 25 tool definitions with their JSON
 * schemas, system blocks, a first user turn of text blocks) and then turns of work, each an
 * assistant turn (thinking, text, a tool_use) and a user turn with its tool_result, whose
 * content is one of this repository's source files (real code: quotes, escapes, braces).
 * Images, when asked for, are base64 blocks of the given size. Deterministic.
 *
 * For the body-check benchmark and the end-to-end test that such bodies still pass.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SRC = join(import.meta.dir, "..", "..", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

let files: { path: string; text: string }[] | undefined;
const repoFiles = () =>
  (files ??= sourceFiles(SRC)
    .sort()
    .map((path) => ({ path, text: readFileSync(path, "utf8") })));

const words = "the proxy reads a request body once and routes it by model before any upstream sees it".split(" ");
const prose = (n: number, seed: number) => Array.from({ length: n }, (_, i) => words[(i * 7 + seed) % words.length]).join(" ");

function tool(i: number): Record<string, unknown> {
  const props = Object.fromEntries(
    Array.from({ length: 3 + (i % 6) }, (_, k) => [
      `param_${k}`,
      k % 3 === 2 ? { type: "array", items: { type: "string" }, description: prose(20, k) } : { type: k % 2 ? "number" : "string", description: prose(30, k) },
    ]),
  );
  return {
    name: `Tool${i}`,
    description: prose(250 + 40 * (i % 5), i),
    input_schema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: props,
      required: Object.keys(props).slice(0, 2),
      additionalProperties: false,
    },
  };
}

function turnPair(n: number): Record<string, unknown>[] {
  const file = repoFiles()[n % repoFiles().length]!;
  const id = `toolu_01${String(n).padStart(22, "0")}`;
  return [
    {
      role: "assistant",
      content: [
        { type: "thinking", thinking: prose(60, n), signature: `Eu${"A".repeat(300)}` },
        { type: "text", text: prose(25, n + 1) },
        { type: "tool_use", id, name: "Read", input: { file_path: file.path, limit: 2000 } },
      ],
    },
    { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: file.text }] },
  ];
}

export interface ClaudeBodyOptions {
  readonly model?: string;
  /** Base64 image blocks in the first user turn, each of about this many bytes of base64. */
  readonly images?: readonly number[];
}

/** A Claude-Code-shaped body of at least `bytes` bytes (a little more: whole turns are added). */
export function claudeBody(bytes: number, o: ClaudeBodyOptions = {}): string {
  const first = [
    { type: "text", text: `<system-reminder>\n${prose(200, 3)}\n</system-reminder>` },
    ...(o.images ?? []).map((size, i) => ({
      type: "image",
      source: { type: "base64", media_type: "image/png", data: Buffer.alloc(Math.floor((size * 3) / 4), i + 1).toString("base64") },
    })),
    { type: "text", text: "Read the source and explain where a request body is parsed.", cache_control: { type: "ephemeral" } },
  ];
  const body = {
    model: o.model ?? "claude-sonnet-4-6",
    max_tokens: 32_000,
    stream: true,
    system: [
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.0; cc_entrypoint=cli; cch=00000;" },
      { type: "text", text: prose(4_000, 1), cache_control: { type: "ephemeral" } },
    ],
    tools: Array.from({ length: 25 }, (_, i) => tool(i)),
    metadata: { user_id: "user_0000000000000000000000000000000000000000000000000000000000000000_account__session_00000000-0000-0000-0000-000000000000" },
    thinking: { type: "enabled", budget_tokens: 31_999 },
    messages: [{ role: "user", content: first }] as Record<string, unknown>[],
  };
  let size = JSON.stringify(body).length;
  for (let n = 0; size < bytes; n++) {
    const pair = turnPair(n);
    body.messages.push(...pair);
    size += JSON.stringify(pair).length + 1;
  }
  return JSON.stringify(body);
}
