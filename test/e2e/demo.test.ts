import Anthropic from "@anthropic-ai/sdk";
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ccpCommand, scratchDir } from "../support/ccp.ts";
import { HAIKU, runClaude } from "../support/claude.ts";
import { cliHome, expectExit, runCli, type CliHome } from "../support/cli.ts";

/**
 * `ccp demo` as a new user meets it: started through the CLI, then the real Claude Code CLI and
 * the Anthropic SDK against it, with the simulated upstream's faults; `ccp usage` and
 * `ccp status` from another "terminal". Nothing may touch the user's own state or config.
 */
setDefaultTimeout(180_000);

interface Demo {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly port: number;
  readonly url: string;
  readonly state: string;
  output(): string;
}

const running = new Set<Subprocess>();
afterAll(() => {
  for (const p of running) p.kill("SIGKILL");
});

async function startDemo(h: CliHome, args: string[]): Promise<Demo> {
  const proc = Bun.spawn([...ccpCommand(), "demo", "--port", "0", ...args], { env: h.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  running.add(proc);
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) text += dec.decode(chunk, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  for (let i = 0; i < 300 && !/ccp listening on/.test(text) && proc.exitCode === null; i++) await Bun.sleep(100);
  const port = Number(/^proxy {6}http:\/\/127\.0\.0\.1:(\d+)/m.exec(text)?.[1]);
  const state = /^state {6}(\S+) /m.exec(text)?.[1] ?? "";
  if (!port) throw new Error(`ccp demo did not start:\n${text}`);
  return { proc, port, url: `http://127.0.0.1:${port}`, state, output: () => text };
}

async function endDemo(d: Demo): Promise<number> {
  d.proc.kill("SIGTERM");
  const code = await Promise.race([d.proc.exited, Bun.sleep(30_000).then(() => -1)]);
  running.delete(d.proc);
  return code;
}

const usageRows = async (h: CliHome, port: number) =>
  expectExit(await runCli(["usage", "--port", String(port), "--tail", "50", "--json"], { env: h.env }), 0)
    .stdout.trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown> & { attempts: { outcome: string; code: string | null; status: number | null }[] });

describe("ccp demo --fault burst", () => {
  const h = cliHome();
  let demo: Demo;

  test("starts with a banner that says it is a demo, how to point Claude Code at it, and where to look", async () => {
    demo = await startDemo(h, ["--fault", "burst"]);
    const out = demo.output();
    expect(out).toContain("ccp DEMO: a simulated Anthropic-compatible upstream answers; nothing reaches a provider");
    expect(out).toContain(`  ANTHROPIC_BASE_URL=${demo.url} claude\n`);
    expect(out).toContain(`  ccp usage --port ${demo.port} --tail 20`);
    expect(out).toContain(`dashboard  ${demo.url}/dashboard`);
    expect(out).toContain("fault      burst: every other request gets HTTP 200 and at once an in-stream [1302]");
    expect(out).toMatch(/info \[demo\] ccp listening on /);
    expect(existsSync(join(demo.state, "demo.toml"))).toBe(true);
  });

  test("the real Claude Code CLI gets a simulated answer, its burst refusal absorbed by ccp's retry", async () => {
    const r = await runClaude(demo.url, { model: HAIKU, prompt: "say hello to the demo", env: { CLAUDE_CODE_MAX_RETRIES: "0" } });
    expect(r.json).toMatchObject({ is_error: false, subtype: "success" });
    expect(String(r.json?.result)).toContain("[ccp demo] A simulated answer");
    expect(String(r.json?.result)).toContain("say hello to the demo");
    const rows = await usageRows(h, demo.port);
    const messages = rows.filter((r) => r.op === "messages");
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.every((m) => m.status === 200 && m.lane === "demo" && m.profile === "demo")).toBe(true);
    const refused = messages.flatMap((m) => m.attempts.filter((a) => a.outcome !== "ok"));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((a) => a.outcome === "in_stream_error" && a.code === "1302")).toBe(true);
    expect(messages.reduce((n, m) => n + Number(m.retries), 0)).toBe(refused.length);
  });

  test("the SDK gets streamed and whole answers with token usage and a token count; each request retried once, as the usage log shows", async () => {
    const client = new Anthropic({ baseURL: demo.url, apiKey: "sk-ant-api03-demo-test", maxRetries: 0 });
    const before = (await usageRows(h, demo.port)).length;
    const stream = client.messages.stream({ model: HAIKU, max_tokens: 100, messages: [{ role: "user", content: "stream please" }] });
    const texts: string[] = [];
    stream.on("text", (t) => texts.push(t));
    const streamed = await stream.finalMessage();
    expect(texts.length).toBeGreaterThan(5);
    expect(texts.join("")).toContain("simulated answer");
    expect(streamed.usage.input_tokens).toBeGreaterThan(0);
    expect(streamed.usage.output_tokens).toBeGreaterThan(10);
    const whole = await client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "whole please" }] });
    expect(whole.content[0]).toMatchObject({ type: "text" });
    expect((whole.content[0] as { text: string }).text).toContain("whole please");
    const count = await client.messages.countTokens({ model: HAIKU, messages: [{ role: "user", content: "count me" }] });
    expect(count.input_tokens).toBeGreaterThan(0);

    const rows = (await usageRows(h, demo.port)).slice(before);
    expect(rows.map((r) => [r.op, r.status, r.retries, r.stream])).toEqual([
      ["messages", 200, 1, true],
      ["messages", 200, 1, false],
      ["count_tokens", 200, 0, false],
    ]);
    expect(rows[0]!.attempts.map((a) => a.outcome)).toEqual(["in_stream_error", "ok"]);
    expect(rows[0]!.output_tokens).toBe(streamed.usage.output_tokens);
    const table = expectExit(await runCli(["usage", "--port", String(demo.port), "--tail", "3"], { env: h.env }), 0).stdout;
    expect(table).toMatch(/^time\s+lane\s+model\s+status\s+protocol\s+ttft\s+ms\s+tokens\s+retries/m);
    expect(table).toMatch(/demo\s+claude-haiku-4-5-20251001\s+200\s+h1\s+\S+\s+\S+\s+\S+\s+1/);
  });

  test("status and the dashboard's data say it is a demo", async () => {
    const s = JSON.parse(expectExit(await runCli(["status", "--port", String(demo.port), "--json"], { env: h.env }), 0).stdout);
    expect(s).toMatchObject({ running: true, demo: true, profile: "demo", managed_by: null });
    expect(s.lanes.map((l: { name: string }) => l.name)).toEqual(["demo"]);
    expect(expectExit(await runCli(["status", "--port", String(demo.port)], { env: h.env }), 0).stdout).toContain("demo       a simulated upstream answers");
    const data = (await (await fetch(`${demo.url}/dashboard/data`)).json()) as { demo: boolean; profile: string };
    expect(data).toMatchObject({ demo: true, profile: "demo" });
  });

  test("Ctrl-C ends it cleanly; its temporary state is removed and the user's state directory and config were never written", async () => {
    expect(await endDemo(demo)).toBe(0);
    expect(demo.output()).toContain("[demo] stopped; its temporary state is removed");
    expect(existsSync(demo.state)).toBe(false);
    expect(existsSync(h.state)).toBe(false);
    expect(readdirSync(h.home).filter((f) => f !== ".bun" && f !== ".cache")).toEqual([]);
  });
});

describe("ccp demo --fault overload --state DIR", () => {
  const h = cliHome();
  const state = join(scratchDir("ccp-demo-state-"), "kept");

  test("529 overloaded answers are retried by ccp; the usage log stays in --state after the demo ends", async () => {
    const demo = await startDemo(h, ["--fault", "overload", "--state", state]);
    expect(demo.state).toBe(state);
    const client = new Anthropic({ baseURL: demo.url, apiKey: "sk-ant-api03-demo-test", maxRetries: 0 });
    for (const content of ["one", "two"]) {
      const m = await client.messages.create({ model: HAIKU, max_tokens: 50, messages: [{ role: "user", content }] });
      expect((m.content[0] as { text: string }).text).toContain(content);
    }
    const rows = await usageRows(h, demo.port);
    expect(rows.map((r) => [r.status, r.retries, r.attempts.map((a) => `${a.outcome}:${a.status}`)])).toEqual([
      [200, 1, ["http_status:529", "ok:200"]],
      [200, 1, ["http_status:529", "ok:200"]],
    ]);
    expect(await endDemo(demo)).toBe(0);
    expect(
      readFileSync(join(state, "logs", "demo", "usage.jsonl"), "utf8")
        .trim()
        .split("\n").length,
    ).toBe(2);
    expect(existsSync(h.state)).toBe(false);
  });

  test("a port already taken is refused with a hint (exit 1), and the demo is never the default: plain start has no demo lane", async () => {
    const first = await startDemo(h, []);
    const again = expectExit(await runCli(["demo", "--port", String(first.port)], { env: h.env }), 1);
    expect(again.stderr).toContain(`a ccp (yours?) is already running on port ${first.port}`);
    expect(again.stderr).toContain(`hint: give the demo another port: ccp demo --port ${first.port + 1}`);
    expect(await endDemo(first)).toBe(0);
    const show = expectExit(await runCli(["config", "show", "--json"], { env: h.env }), 0);
    expect(Object.keys(JSON.parse(show.stdout).config.lanes)).toEqual(["anthropic"]);
  });
});
