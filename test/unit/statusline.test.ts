import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { mergeStatusLine, shellWord, statusLineSetting } from "../../src/cli/claude-settings.ts";
import { baseUrlInstance } from "../../src/cli/commands/statusline.ts";
import { fastStatusline } from "../../src/cli/fast-path.ts";
import { type LinePaint, parseClaudeInput, statusLineText } from "../../src/cli/statusline-line.ts";
import type { QuotaBody } from "../../src/ops/quota-body.ts";
import type { QuotaAnswer } from "../../src/ops/quota-ask.ts";
import { QUOTA, quotaFor } from "../support/quota-stub.ts";

const running = (body: QuotaBody): QuotaAnswer => ({ kind: "running", body, text: JSON.stringify(body) });
const line = (model: string | undefined, body: QuotaBody = quotaFor(model ?? null)) => statusLineText(running(body), { modelId: model });

describe("Claude Code's stdin", () => {
  test("model.id is what matters; empty, invalid or odd input is no input", () => {
    expect(parseClaudeInput(JSON.stringify({ session_id: "s", model: { id: "claude-sonnet-4-6", display_name: "Sonnet" }, cost: {} }))).toEqual({ modelId: "claude-sonnet-4-6" });
    for (const text of ["", "   ", "not json", "null", "[]", '{"model":"x"}', '{"model":{"id":7}}', '{"model":{"id":"  "}}', '{"model":{"id":"x"']) {
      expect(parseClaudeInput(text)).toEqual({});
    }
  });
});

describe("the status line", () => {
  test("the lane the model goes to, its health, 5-hour and weekly use with time to reset", () => {
    expect(line("claude-haiku-4-5")).toBe("ccp zai ✓ 5h 42% ↻2h10m · 7d 13% ↻4d3h");
  });

  test("a reroute says where the request goes now and why the first lane was passed over", () => {
    expect(line("claude-sonnet-4-6")).toBe("ccp ↪ zai (anthropic walled) ✓ 5h 42% ↻2h10m · 7d 13% ↻4d3h");
    const body = quotaFor("claude-sonnet-4-6");
    const over = { ...body, route: { ...body.route!, reason: "quota_threshold" as const, quota_threshold: 0.9 } };
    expect(line("claude-sonnet-4-6", over)).toStartWith("ccp ↪ zai (anthropic over 90%) ✓");
  });

  test("every lane of the chain walled: when each opens again", () => {
    expect(line("claude-opus-4-8")).toBe("ccp ✗ all walled: anthropic ↻45m");
    const body = quotaFor("claude-opus-4-8");
    expect(line("claude-opus-4-8", { ...body, route: { ...body.route!, lanes: ["anthropic", "zai"] } })).toBe("ccp ✗ all walled: anthropic ↻45m, zai ↻?");
  });

  test("errors since start (errors/requests), overage in use, a lane without readings", () => {
    const body = quotaFor("claude-haiku-4-5");
    const zai = body.plans[0]!;
    const errors = { ...body, plans: [{ ...zai, errors: 3, requests: 120 }] };
    expect(line("claude-haiku-4-5", errors)).toBe("ccp zai ✗ 3/120 5h 42% ↻2h10m · 7d 13% ↻4d3h");
    const overage = { ...body, plans: [{ ...zai, overage: { in_use: true, status: "allowed", utilization: 0.1, resets_at: null } }] };
    expect(line("claude-haiku-4-5", overage)).toBe("ccp zai ✓ 5h 42% ↻2h10m · 7d 13% ↻4d3h · overage");
    const bare = { ...body, plans: [{ ...zai, credential: "none", windows: [] }] };
    expect(line("claude-haiku-4-5", bare)).toBe("ccp zai ✓ no reading yet");
    // A lane whose key variable is not set refuses every request: said before the first one fails.
    expect(line("claude-haiku-4-5", { ...body, plans: [{ ...zai, credential: "none", windows: [], key_missing: true }] })).toBe("ccp zai ✗ key missing no reading yet");
    const unknownReset = { ...body, plans: [{ ...zai, windows: [{ ...zai.windows[0]!, resets_at: null }] }] };
    expect(line("claude-haiku-4-5", unknownReset)).toBe("ccp zai ✓ 5h 42%");
  });

  test("no route for the model, no model on stdin, and each way of not getting an answer: a few characters", () => {
    expect(line("gpt-5")).toBe("ccp: no route for gpt-5");
    expect(line("x".repeat(60))).toBe(`ccp: no route for ${"x".repeat(39)}…`);
    expect(line(undefined, QUOTA)).toBe("ccp: on");
    expect(statusLineText({ kind: "none" }, { modelId: "m" })).toBe("ccp: off");
    expect(statusLineText({ kind: "refused" }, { modelId: "m" })).toBe("ccp: needs key");
    expect(statusLineText({ kind: "no-endpoint" }, { modelId: "m" })).toBe("ccp: no /quota (restart it)");
  });

  test("colours: use by level, health, reroute mark; none of the text changes", () => {
    const tag = (name: string) => (s: string) => `<${name}>${s}</${name}>`;
    const paint: LinePaint = { ok: tag("ok"), warn: tag("warn"), bad: tag("bad"), dim: tag("dim") };
    const body = quotaFor("claude-sonnet-4-6");
    const hot = {
      ...body,
      plans: [
        {
          ...body.plans[0]!,
          windows: [
            { ...body.plans[0]!.windows[0]!, utilization: 0.95 },
            { ...body.plans[0]!.windows[1]!, utilization: 0.75 },
          ],
        },
      ],
    };
    expect(statusLineText(running(hot), { modelId: "claude-sonnet-4-6" }, paint)).toBe(
      "ccp <warn>↪ zai (anthropic walled)</warn> <ok>✓</ok> 5h <bad>95%</bad> <dim>↻2h10m</dim> · 7d <warn>75%</warn> <dim>↻4d3h</dim>",
    );
    expect(statusLineText({ kind: "none" }, {}, paint)).toBe("<dim>ccp: off</dim>");
  });
});

describe("which ccp the status line asks", () => {
  test("a plain-HTTP ANTHROPIC_BASE_URL names it; anything else does not", () => {
    expect(baseUrlInstance("http://127.0.0.1:8083")).toEqual({ host: "127.0.0.1", port: 8083 });
    expect(baseUrlInstance("http://[::1]:9000/")).toEqual({ host: "::1", port: 9000 });
    expect(baseUrlInstance("http://localhost")).toEqual({ host: "localhost", port: 80 });
    for (const url of [undefined, "", "https://api.z.ai/api/anthropic", "not a url"]) expect(baseUrlInstance(url)).toBeUndefined();
  });

  test("the entry point's fast path takes statusline alone or with a port; everything else goes to the command table", () => {
    expect(fastStatusline(["statusline"])).toBe(0);
    expect(fastStatusline(["statusline", "--port", "8083"])).toBe(8083);
    expect(fastStatusline(["statusline", "-p", "8083"])).toBe(8083);
    expect(fastStatusline(["statusline", "--port=8083"])).toBe(8083);
    for (const args of [
      [],
      ["status"],
      ["statusline", "--install"],
      ["statusline", "--help"],
      ["statusline", "--port", "0"],
      ["statusline", "--port", "x"],
      ["statusline", "-p8083"],
      ["statusline", "--port", "70000"],
    ]) {
      expect(fastStatusline(args)).toBeUndefined();
    }
  });
});

/** Every file and package a file loads before it runs, following static imports only (type-only imports load nothing). */
function staticClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gms)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

test("the status line's fast path loads neither the command table nor the config loader (only what it needs)", () => {
  const src = join(import.meta.dir, "..", "..", "src");
  const main = staticClosure(join(src, "cli", "main.ts"));
  expect([...main.files].map((f) => f.slice(src.length + 1)).sort()).toEqual(["cli/fast-path.ts", "cli/main.ts"]);
  const line = staticClosure(join(src, "cli", "commands", "statusline.ts"));
  const loaded = [...line.files].map((f) => f.slice(src.length + 1));
  expect(loaded.filter((f) => ["config/load.ts", "config/schema.ts", "cli/program.ts", "cli/run.ts"].includes(f))).toEqual([]);
  expect([...line.packages].filter((p) => p === "commander" || p === "zod")).toEqual([]);
});

describe("Claude Code's settings with ccp's statusLine", () => {
  const setting = statusLineSetting("/opt/ccp statusline");

  test("no file: a new one holding the setting", () => {
    const m = mergeStatusLine(undefined, setting, false);
    expect(m).toEqual({ kind: "write", text: '{\n  "statusLine": {\n    "type": "command",\n    "command": "/opt/ccp statusline",\n    "padding": 0\n  }\n}\n', replaced: undefined });
    expect(mergeStatusLine("  \n", setting, false).kind).toBe("write");
  });

  test("every other key kept, in its place; 2-space indent", () => {
    const text = JSON.stringify({ model: "opus", env: { A: "1" }, permissions: { allow: ["Bash(ls:*)"] } });
    const m = mergeStatusLine(text, setting, false);
    if (m.kind !== "write") throw new Error(m.kind);
    expect(Object.keys(JSON.parse(m.text))).toEqual(["model", "env", "permissions", "statusLine"]);
    expect(JSON.parse(m.text)).toEqual({ ...JSON.parse(text), statusLine: setting });
    expect(m.text).toContain('\n  "env": {\n    "A": "1"\n  },');
  });

  test("the same setting already there: nothing to do, whatever its key order", () => {
    expect(mergeStatusLine(JSON.stringify({ statusLine: { padding: 0, command: "/opt/ccp statusline", type: "command" } }), setting, false)).toEqual({ kind: "same" });
  });

  test("ccp's command with the user's refreshInterval or padding is the same setting (kept); another command or type is not", () => {
    const same = (statusLine: unknown) => mergeStatusLine(JSON.stringify({ statusLine }), setting, false).kind;
    expect(same({ type: "command", command: "/opt/ccp statusline", padding: 1, refreshInterval: 30 })).toBe("same");
    expect(same({ type: "command", command: "/opt/ccp statusline" })).toBe("same");
    expect(same({ type: "command", command: "/opt/ccp statusline --port 9000", refreshInterval: 30 })).toBe("other");
    expect(same({ type: "static", command: "/opt/ccp statusline" })).toBe("other");
    expect(same("/opt/ccp statusline")).toBe("other");
    expect(same(["/opt/ccp statusline"])).toBe("other");
  });

  test("another statusLine is kept without force (and said), replaced in its place with it", () => {
    const other = { type: "command", command: "~/.claude/zai-status.sh" };
    const text = JSON.stringify({ a: 1, statusLine: other, b: 2 });
    expect(mergeStatusLine(text, setting, false)).toEqual({ kind: "other", existing: other });
    const m = mergeStatusLine(text, setting, true);
    if (m.kind !== "write") throw new Error(m.kind);
    expect(m.replaced).toEqual(other);
    expect(Object.keys(JSON.parse(m.text))).toEqual(["a", "statusLine", "b"]);
  });

  test("a file that is not a JSON object is never rewritten", () => {
    for (const text of ['{"a": 1,}', "// comment\n{}", "[1]", "42", "null", '"text"']) {
      expect(mergeStatusLine(text, setting, true).kind).toBe("unreadable");
    }
  });

  test("the command's words are quoted for the shell only when they need it", () => {
    expect(shellWord("/home/u/.local/bin/ccp")).toBe("/home/u/.local/bin/ccp");
    expect(shellWord("/Users/a b/ccp")).toBe("'/Users/a b/ccp'");
    expect(shellWord("/tmp/it's")).toBe(`'/tmp/it'\\''s'`);
    expect(shellWord("$HOME")).toBe("'$HOME'");
  });
});
