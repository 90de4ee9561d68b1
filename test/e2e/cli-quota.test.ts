import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ccpCommand } from "../support/ccp.ts";
import { cliHome, expectExit, freePort, runCli } from "../support/cli.ts";
import { quotaFor, startQuotaStub, type QuotaStub } from "../support/quota-stub.ts";

/**
 * `ccp quota`, `ccp statusline` and the quota column of `ccp status`, run as
 * the real CLI against a stub ccp that answers /healthz, /status and /quota with fixed bodies.
 */
setDefaultTimeout(60_000);

let stub: QuotaStub;
beforeAll(() => {
  stub = startQuotaStub();
});
afterAll(() => stub?.stop());

/** Claude Code's stdin for a status line run (CLAUDE-CODE-GATEWAY.md §5). */
const claudeInput = (model: string) =>
  JSON.stringify({ session_id: "0f1e2d3c", model: { id: model, display_name: "Model" }, workspace: { current_dir: "/tmp", project_dir: "/tmp" }, version: "2.1.330", cost: {} });

describe("ccp quota", () => {
  test("one row per plan and window, then walls, overage and a failing quota endpoint", async () => {
    const h = cliHome();
    const r = expectExit(await runCli(["quota", "--port", String(stub.port)], { env: h.env }), 0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]!.split(/\s{2,}/)).toEqual(["lane", "credential", "window", "used", "resets in", "status", "source", "age"]);
    expect(lines[1]!.split(/\s{2,}/)).toEqual(["zai", "lane", "5h", "42%", "2h10m", "allowed", "endpoint", "12s ago"]);
    expect(lines[3]!.split(/\s{2,}/)).toEqual(["anthropic", "client:3f9a0c1b2d4e", "5h", "102%", "45m", "rejected", "headers", "1m ago"]);
    expect(lines[4]!.split(/\s{2,}/)).toEqual(["backup", "none", "-", "-", "-", "no reading yet", "-", "-"]);
    expect(r.stdout).toContain("wall     anthropic (client:3f9a0c1b2d4e): 5h limit reached (rejected); resets in 45m");
    expect(r.stdout).toContain("overage  anthropic (client:3f9a0c1b2d4e): in use");
    expect(r.stdout).toContain("poll     backup: its quota endpoint is failing; no reading yet");
    expect(r.stderr).toBe("");
  });

  test("--json prints the body as it came; the port may be given as an argument", async () => {
    const h = cliHome();
    const r = expectExit(await runCli(["quota", String(stub.port), "--json"], { env: h.env }), 0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(quotaFor(null))));
  });

  test("not running: the words and exit code of ccp status, --json too", async () => {
    const h = cliHome();
    const port = String(await freePort());
    for (const json of [[], ["--json"]]) {
      const quota = expectExit(await runCli(["quota", "--port", port, ...json], { env: h.env }), 3);
      const status = expectExit(await runCli(["status", "--port", port, ...json], { env: h.env }), 3);
      expect(quota.stdout).toBe(status.stdout);
    }
    expect(expectExit(await runCli(["quota", port], { env: h.env }), 3).stdout).toBe(`ccp is not running on port ${port}\n`);
  });

  test("a keyed ccp: without the key, what ccp status says; with it, the table", async () => {
    const keyed = startQuotaStub({ key: "a-proxy-key-of-enough-length" });
    try {
      const h = cliHome();
      const port = String(keyed.port);
      const quota = expectExit(await runCli(["quota", "--port", port], { env: h.env }), 0);
      expect(quota.stdout).toBe(expectExit(await runCli(["status", "--port", port], { env: h.env }), 0).stdout);
      expect(quota.stdout).toContain("asks for its proxy key");
      const withKey = expectExit(await runCli(["quota", "--port", port], { env: { ...h.env, CCP_PROXY_KEY: "a-proxy-key-of-enough-length" } }), 0);
      expect(withKey.stdout).toContain("zai        lane");
    } finally {
      keyed.stop();
    }
  });

  test("a ccp without GET /quota (started by an older version): a clear error, exit 1", async () => {
    const old = startQuotaStub({ noQuota: true });
    try {
      const r = expectExit(await runCli(["quota", "--port", String(old.port)], { env: cliHome().env }), 1);
      expect(r.stderr).toContain(`ccp: the ccp on port ${old.port} has no GET /quota`);
      expect(r.stderr).toContain(`hint: ccp restart ${old.port}`);
    } finally {
      old.stop();
    }
  });
});

describe("ccp status's quota column", () => {
  test("each lane's 5h / 7d use; '-' for a lane without readings, and for every lane when /quota fails", async () => {
    const h = cliHome();
    const r = expectExit(await runCli(["status", "--port", String(stub.port)], { env: h.env }), 0);
    expect(r.stdout).toMatch(/credentials\s+requests\s+errors\s+quota 5h \/ 7d\n/);
    expect(r.stdout).toMatch(/\nzai\s+h1\s.*\s120\s+0\s+42% \/ 13%\n/);
    expect(r.stdout).toMatch(/\nanthropic\s+h2\s.*\s40\s+2\s+102% \/ -\n/);
    const old = startQuotaStub({ noQuota: true });
    try {
      const without = expectExit(await runCli(["status", "--port", String(old.port)], { env: h.env }), 0);
      expect(without.stdout).toMatch(/\nzai\s+h1\s.*\s120\s+0\s+-\n/);
    } finally {
      old.stop();
    }
  });
});

describe("ccp statusline", () => {
  const line = async (stdin: string, env: Record<string, string>, args: string[] = ["--port", String(stub.port)]) => {
    const t0 = performance.now();
    const r = expectExit(await runCli(["statusline", ...args], { env, stdin }), 0);
    expect(r.stderr).toBe("");
    return { text: r.stdout, ms: performance.now() - t0 };
  };

  test("the lane the session's model goes to, its health, 5h and weekly use; a reroute marked", async () => {
    const h = cliHome();
    expect((await line(claudeInput("claude-haiku-4-5-20251001"), h.env)).text).toBe("ccp zai ✓ 5h 42% ↻2h10m · 7d 13% ↻4d3h\n");
    expect((await line(claudeInput("claude-sonnet-4-6"), h.env)).text).toBe("ccp ↪ zai (anthropic walled) ✓ 5h 42% ↻2h10m · 7d 13% ↻4d3h\n");
    expect((await line(claudeInput("claude-opus-4-8"), h.env)).text).toBe("ccp ✗ all walled: anthropic ↻45m\n");
    expect((await line(claudeInput("gpt-5"), h.env)).text).toBe("ccp: no route for gpt-5\n");
    expect(stub.asked).toContain("/quota?model=claude-sonnet-4-6");
  });

  test("empty or invalid stdin is no model; colours unless NO_COLOR", async () => {
    const h = cliHome();
    expect((await line("", h.env)).text).toBe("ccp: on\n");
    expect((await line("{not json", h.env)).text).toBe("ccp: on\n");
    const { NO_COLOR: _, ...coloured } = h.env;
    const text = (await line(claudeInput("claude-haiku-4-5"), coloured)).text;
    expect(text).toContain("\x1b[32m✓\x1b[39m");
    expect(text.replace(/\x1b\[\d+m/g, "")).toBe("ccp zai ✓ 5h 42% ↻2h10m · 7d 13% ↻4d3h\n");
  });

  test("finds the ccp its Claude Code talks to (ANTHROPIC_BASE_URL), with the key ccp wrap hands it", async () => {
    const keyed = startQuotaStub({ key: "a-proxy-key-of-enough-length" });
    try {
      const env = { ...cliHome().env, ANTHROPIC_BASE_URL: `http://127.0.0.1:${keyed.port}` };
      expect((await line(claudeInput("claude-haiku-4-5"), env, [])).text).toBe("ccp: needs key\n");
      const wrapped = { ...env, ANTHROPIC_CUSTOM_HEADERS: "x-team: a\nx-ccp-key: a-proxy-key-of-enough-length" };
      expect((await line(claudeInput("claude-haiku-4-5"), wrapped, [])).text).toBe("ccp zai ✓ 5h 42% ↻2h10m · 7d 13% ↻4d3h\n");
    } finally {
      keyed.stop();
    }
  });

  test("nothing listening, a ccp too slow to answer: a few characters, exit 0, promptly", async () => {
    const h = cliHome();
    const off = await line(claudeInput("claude-haiku-4-5"), h.env, ["--port", String(await freePort())]);
    expect(off.text).toBe("ccp: off\n");
    expect(off.ms).toBeLessThan(2_000);
    const slow = startQuotaStub({ quotaDelayMs: 10_000 });
    try {
      const late = await line(claudeInput("claude-haiku-4-5"), h.env, ["--port", String(slow.port)]);
      expect(late.text).toBe("ccp: off\n");
      expect(late.ms).toBeLessThan(2_000);
    } finally {
      slow.stop();
    }
  });

  test("whatever goes wrong, one line and exit 0 (here: $CCP_HOME/run is a file)", async () => {
    const h = cliHome();
    mkdirSync(h.state, { recursive: true });
    writeFileSync(join(h.state, "run"), "not a directory");
    expect((await line(claudeInput("claude-haiku-4-5"), h.env, [])).text).toBe("ccp: ?\n");
  });

  test("a stdin that never closes is not waited on", async () => {
    const t0 = performance.now();
    const proc = Bun.spawn([...ccpCommand(), "statusline", "--port", String(stub.port)], { env: cliHome().env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    proc.stdin.write(claudeInput("claude-haiku-4-5").slice(0, 20)); // half a JSON object, and no end
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    clearTimeout(timer);
    expect(out).toBe("ccp: on\n");
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});
