import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ccpCommand } from "../support/ccp.ts";
import { cliHome, expectExit, freePort, runCli } from "../support/cli.ts";
import { NOW, quotaFor, startQuotaStub, type QuotaStub } from "../support/quota-stub.ts";

/**
 * `ccp quota`, `ccp statusline` (and --install) and the quota column of `ccp status`, run as
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
  test("each lane's 5h / 7d use, marked when walled (with the reset) and when overage is in use; '-' for a lane without readings, and for every lane when /quota fails", async () => {
    const h = cliHome();
    const r = expectExit(await runCli(["status", "--port", String(stub.port)], { env: h.env }), 0);
    expect(r.stdout).toMatch(/credentials\s+requests\s+errors\s+quota 5h \/ 7d\n/);
    expect(r.stdout).toMatch(/\nzai\s+h1\s.*\s120\s+0\s+42% \/ 13%\n/);
    // The walled plan says so with its reset, and its overage in use is marked; zai has neither.
    expect(r.stdout).toMatch(/\nanthropic\s+h2\s.*\s40\s+2\s+102% \/ - · walled ↻45m · overage\n/);
    const old = startQuotaStub({ noQuota: true });
    try {
      const without = expectExit(await runCli(["status", "--port", String(old.port)], { env: h.env }), 0);
      expect(without.stdout).toMatch(/\nzai\s+h1\s.*\s120\s+0\s+-\n/);
      // --json: GET /quota's plans as `quota` (null when it did not answer).
      const json = (port: number) => runCli(["status", "--port", String(port), "--json"], { env: h.env }).then((x) => JSON.parse(expectExit(x, 0).stdout));
      const withPlans = await json(stub.port);
      expect(withPlans.quota).toEqual(quotaFor(null).plans);
      // Each lane's marks, from the same plans: walled until the wall's reset, overage in use.
      expect(withPlans.lanes.map((l: { name: string; quota_marks: unknown }) => [l.name, l.quota_marks])).toEqual([
        ["zai", { walled: false, wall_resets_at: null, overage_in_use: false }],
        ["anthropic", { walled: true, wall_resets_at: NOW + 45 * 60_000, overage_in_use: true }],
      ]);
      expect((await json(old.port)).lanes.map((l: { quota_marks: unknown }) => l.quota_marks)).toEqual([null, null]);
      expect((await json(old.port)).quota).toBeNull();
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

describe("ccp statusline --install", () => {
  const settingsIn = (home: string) => join(home, ".claude", "settings.json");
  const backups = (dir: string, name = "settings.json") => readdirSync(dir).filter((f) => f.startsWith(`${name}.bak-`));

  test("keeps every other key, backs the file up first, and writes a command that works from anywhere", async () => {
    const h = cliHome();
    const file = settingsIn(h.home);
    mkdirSync(join(h.home, ".claude"));
    const before = `${JSON.stringify({ model: "opus", env: { DISABLE_TELEMETRY: "1" }, permissions: { allow: ["Bash(ls:*)"] } }, null, 4)}\n`;
    writeFileSync(file, before);
    const r = expectExit(await runCli(["statusline", "--install"], { env: h.env, cwd: "/" }), 0);
    const after = JSON.parse(readFileSync(file, "utf8"));
    expect(after).toMatchObject({ model: "opus", env: { DISABLE_TELEMETRY: "1" }, permissions: { allow: ["Bash(ls:*)"] } });
    expect(Object.keys(after)).toEqual(["model", "env", "permissions", "statusLine"]);
    expect(after.statusLine).toEqual({ type: "command", command: expect.stringMatching(/ statusline$/), padding: 0 });
    expect(readFileSync(file, "utf8")).toStartWith('{\n  "model": "opus",\n');
    const [backup] = backups(join(h.home, ".claude"));
    expect(backup).toMatch(/^settings\.json\.bak-\d{8}T\d{6}Z$/);
    expect(readFileSync(join(h.home, ".claude", backup!), "utf8")).toBe(before);
    expect(r.stdout).toContain(`statusLine set in ${file}`);
    expect(r.stdout).toContain(`backup     ${join(h.home, ".claude", backup!)}`);
    // As Claude Code runs it: through a shell, from the project's directory, with its own environment (the stub answers in this process: no spawnSync).
    const run = await runCli([], {
      cmd: ["sh", "-c", after.statusLine.command],
      cwd: "/tmp",
      env: { PATH: "/usr/bin:/bin", HOME: h.home, NO_COLOR: "1", ANTHROPIC_BASE_URL: `http://127.0.0.1:${stub.port}` },
      stdin: claudeInput("claude-haiku-4-5"),
    });
    expect(run.stdout).toBe("ccp zai ✓ 5h 42% ↻2h10m · 7d 13% ↻4d3h\n");
    // Again: nothing to do, no second backup.
    expect(expectExit(await runCli(["statusline", "--install"], { env: h.env }), 0).stdout).toContain("already runs ccp's status line");
    expect(backups(join(h.home, ".claude"))).toHaveLength(1);
    // The user's refreshInterval on ccp's command: still ccp's line, kept as it is.
    const touched = `${JSON.stringify({ ...after, statusLine: { ...after.statusLine, refreshInterval: 30 } }, null, 2)}\n`;
    writeFileSync(file, touched);
    expect(expectExit(await runCli(["statusline", "--install"], { env: h.env }), 0).stdout).toContain("already runs ccp's status line");
    expect(readFileSync(file, "utf8")).toBe(touched);
  });

  test("creates the directory and file when absent, under $CLAUDE_CONFIG_DIR; --port goes into the command", async () => {
    const h = cliHome();
    const dir = join(h.home, "claude-config");
    const r = expectExit(await runCli(["statusline", "--install", "--port", "8099"], { env: { ...h.env, CLAUDE_CONFIG_DIR: dir } }), 0);
    const file = join(dir, "settings.json");
    expect(JSON.parse(readFileSync(file, "utf8")).statusLine.command).toEndWith(" statusline --port 8099");
    expect(r.stdout).toContain("(a new file)");
    expect(backups(dir)).toEqual([]);
    expect(existsSync(settingsIn(h.home))).toBe(false);
  });

  test("a settings.json that is a link (a dotfiles manager's) stays one: the file it points at is written", async () => {
    const h = cliHome();
    mkdirSync(join(h.home, "dotfiles"));
    mkdirSync(join(h.home, ".claude"));
    const real = join(h.home, "dotfiles", "settings.json");
    writeFileSync(real, '{"theme":"dark"}');
    symlinkSync(real, settingsIn(h.home));
    expectExit(await runCli(["statusline", "--install"], { env: h.env }), 0);
    expect(lstatSync(settingsIn(h.home)).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(real, "utf8"))).toMatchObject({ theme: "dark", statusLine: { type: "command" } });
    expect(backups(join(h.home, "dotfiles"))).toHaveLength(1);
  });

  test("an unparsable settings file is never overwritten", async () => {
    const h = cliHome();
    const file = join(h.home, "s.json");
    const text = '{ "model": "opus", // a comment\n}';
    writeFileSync(file, text);
    const r = expectExit(await runCli(["statusline", "--install", "--settings", file, "--force"], { env: h.env }), 1);
    expect(r.stderr).toContain(`ccp: ${file} is not valid JSON`);
    expect(r.stderr).toContain("it was left as it is");
    expect(readFileSync(file, "utf8")).toBe(text);
    expect(readdirSync(h.home).filter((f) => f.startsWith("s.json"))).toEqual(["s.json"]);
  });

  test("another statusLine is not replaced without --force, and what is there is said; --force replaces it after a backup", async () => {
    const h = cliHome();
    const file = join(h.home, "s.json");
    const text = JSON.stringify({ statusLine: { type: "command", command: "~/.claude/zai-status.sh" }, theme: "dark" });
    writeFileSync(file, text);
    const refused = expectExit(await runCli(["statusline", "--install", "--settings", file], { env: h.env }), 1);
    expect(refused.stderr).toContain('already has another statusLine: {"type":"command","command":"~/.claude/zai-status.sh"}');
    expect(refused.stderr).toContain("--force");
    expect(readFileSync(file, "utf8")).toBe(text);
    expect(backups(h.home, "s.json")).toEqual([]);
    const forced = expectExit(await runCli(["statusline", "--install", "--settings", file, "--force"], { env: h.env }), 0);
    expect(forced.stdout).toContain('replaced   {"type":"command","command":"~/.claude/zai-status.sh"}');
    const after = JSON.parse(readFileSync(file, "utf8"));
    expect(after.theme).toBe("dark");
    expect(after.statusLine.command).toEndWith(" statusline");
    expect(backups(h.home, "s.json").map((b) => readFileSync(join(h.home, b), "utf8"))).toEqual([text]);
  });

  test("--settings and --force without --install are a usage mistake", async () => {
    const r = expectExit(await runCli(["statusline", "--force"], { env: cliHome().env }), 2);
    expect(r.stderr).toContain("--settings and --force go with --install");
  });
});
