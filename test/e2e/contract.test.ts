import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { laneConfig, startCcp, type CcpProcess } from "../support/ccp.ts";
import { HAIKU, runClaude } from "../support/claude.ts";
import { startFakeUpstream, type Behaviour, type FakeUpstream } from "../support/fake-upstream/index.ts";

/**
 * The examples that opened the resilience-contract issue, each through the real Claude Code
 * CLI with its own retries off (CLAUDE_CODE_MAX_RETRIES=0) and ccp's default configuration:
 * none may end in "API returned an empty or malformed response", and the usage line tells
 * what happened. And a configuration mistake answers at once, without Claude Code retrying it.
 */
let upstream: FakeUpstream;
let ccp: CcpProcess;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "zai-lane-key-1234567890" } });
});
afterAll(async () => {
  await ccp?.stop();
  await upstream?.close();
});

const zai = { pathPrefix: "/zai/", endpoint: "messages" } as const;
const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const START = frame("message_start", {
  type: "message_start",
  message: { id: "msg_1", type: "message", role: "assistant", model: "glm", content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } },
});
const OVERLOADED = { type: "error", error: { type: "overloaded_error", message: "Overloaded" } };

async function lineOf(rids: Set<string>): Promise<Record<string, unknown>[]> {
  const lines = await ccp.usage(1);
  return lines.filter((l) => l.op === "messages" && l.lane === "zai" && !rids.has(String(l.rid)));
}

describe("a 2xx that is not what Claude Code asked for is retried, not handed on", () => {
  test.each([
    ["an HTML page with 200 answering a stream request", { kind: "raw", headers: [["content-type", "text/html"]], pieces: ["<html><body>Bad gateway</body></html>"] }, "protocol"],
    ["a JSON error envelope with 200 answering a stream request", { kind: "raw", headers: [["content-type", "application/json"]], pieces: [JSON.stringify(OVERLOADED)] }, "in_stream_error"],
    [
      "an overload error right after message_start, before any content",
      { kind: "raw", headers: [["content-type", "text/event-stream"]], pieces: [START, frame("error", OVERLOADED)] },
      "in_stream_error",
    ],
  ] as [string, Behaviour, string][])("%s: Claude Code gets its answer; the line lists the failed attempt", async (_name, behaviour, outcome) => {
    const before = new Set((await ccp.usage(0)).map((l) => String(l.rid)));
    await upstream.script([behaviour], zai);
    const r = await runClaude(ccp.url, { model: HAIKU, env: { CLAUDE_CODE_MAX_RETRIES: "0" } });
    expect(r.json).toMatchObject({ is_error: false, result: "ok" });
    const [line] = (await lineOf(before)).filter((l) => (l.attempts as unknown[]).length > 1);
    expect(line).toMatchObject({ status: 200, failure_class: null });
    expect((line!.attempts as { outcome: string }[]).map((a) => a.outcome)).toEqual([outcome, "ok"]);
  });

  test("the same HTML page for ever: Claude Code gets a well-formed error naming what came back, never a malformed-response error", async () => {
    const before = new Set((await ccp.usage(0)).map((l) => String(l.rid)));
    await upstream.script(
      Array.from({ length: 6 }, () => ({ kind: "raw", headers: [["content-type", "text/html"]], pieces: ["<html><body>Bad gateway</body></html>"] }) as Behaviour),
      zai,
    );
    const r = await runClaude(ccp.url, { model: HAIKU, env: { CLAUDE_CODE_MAX_RETRIES: "0" } });
    await upstream.reset();
    expect(r.json).toMatchObject({ is_error: true });
    const said = String(r.json?.result);
    expect(said).not.toMatch(/empty or malformed/i);
    expect(said).toContain("text/html");
    const lines = await lineOf(before);
    expect(lines.some((l) => l.failure_class === "protocol" && (l.status as number) >= 500)).toBe(true);
  });
});

describe("configuration mistakes fail fast", () => {
  test("a route to a lane whose key variable is unset: one answer saying which variable, which Claude Code does not retry", async () => {
    const keyless = await startCcp({ config: laneConfig(upstream.url, upstream.caFile) });
    try {
      expect(keyless.output()).toMatch(/lane "zai" .*ZAI_API_KEY.*claude-haiku-\*/);
      await upstream.reset();
      // Claude Code's own retries on (its default): it must still ask once.
      const r = await runClaude(keyless.url, { model: HAIKU, env: { CLAUDE_CODE_MAX_RETRIES: "3" } });
      expect(r.json).toMatchObject({ is_error: true });
      expect(String(r.json?.result)).toContain("ZAI_API_KEY");
      const lines = (await keyless.usage(1)).filter((l) => l.op === "messages" && l.lane === "zai");
      expect(lines).toHaveLength(1);
      expect((await upstream.requests()).filter((q) => q.path.startsWith("/zai/"))).toEqual([]);
    } finally {
      await keyless.stop();
    }
  }, 120_000);
});

describe("configuration mistakes fail fast, as the command line says them", () => {
  test("ccp start (detached), restart and config check warn about a key lane whose variable is unset, naming the routes that use it", async () => {
    const { cliHome, expectExit, freePort, runCli } = await import("../support/cli.ts");
    const { writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const h = cliHome();
    const file = join(h.home, "ccp.toml");
    writeFileSync(file, laneConfig(upstream.url, upstream.caFile));
    const check = expectExit(await runCli(["config", "check", "--config", file], { env: h.env }), 0);
    expect(check.stderr).toContain('warning: lane "zai" needs its key in $ZAI_API_KEY, which is not set: requests for claude-haiku-* will be refused');
    const port = String(await freePort());
    const start = await runCli(["start", "--port", port, "--config", file], { env: h.env });
    try {
      expect(start.stderr).toContain('warning: lane "zai" needs its key in $ZAI_API_KEY');
      const restart = await runCli(["restart", port], { env: h.env });
      expect(restart.stderr).toContain('warning: lane "zai" needs its key in $ZAI_API_KEY, which is not set: requests for claude-haiku-* will be refused');
    } finally {
      await runCli(["stop", port], { env: h.env });
    }
  }, 60_000);
});
