import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ccpCommand } from "../support/ccp.ts";
import { cliHome, expectExit, runCli } from "../support/cli.ts";
import { startQuotaStub, type QuotaStub } from "../support/quota-stub.ts";

/**
 * `ccp statusline` and `--install` given what a careless or hostile machine holds: a stdin that
 * never ends, a FIFO where the config should be, a model id with a newline, a settings.json that
 * is a dangling link or holds numbers JSON cannot give back. Always one line, exit 0, promptly;
 * the settings file is never damaged. (An attacker's review of the quota work, 2026-12.)
 */
setDefaultTimeout(60_000);

let stub: QuotaStub;
beforeAll(() => {
  stub = startQuotaStub();
});
afterAll(() => stub?.stop());

/** Runs `ccp statusline ARGS` with stdin from `stdinPath` (through a shell redirect); killed after 10 s. */
async function statuslineFrom(stdinPath: string, env: Record<string, string>, args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(["sh", "-c", 'f=$1; shift; exec "$@" < "$f"', "sh", stdinPath, ...ccpCommand(), "statusline", ...args], { env, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  const out = await new Response(proc.stdout).text();
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, out };
}

describe("ccp statusline never hangs", () => {
  test("a stdin that never ends (/dev/zero): one line, exit 0", async () => {
    const r = await statuslineFrom("/dev/zero", cliHome().env, ["--port", String(stub.port)]);
    expect(r).toEqual({ code: 0, out: "ccp: on\n" });
  });

  test("a FIFO where the config file should be: one line, exit 0; ccp config check names it", async () => {
    const h = cliHome();
    const fifo = join(h.home, "config.toml");
    execFileSync("mkfifo", [fifo]);
    // No port, no ANTHROPIC_BASE_URL, no instance recorded: the status line reads the config for the address.
    const r = await statuslineFrom("/dev/null", { ...h.env, CCP_CONFIG: fifo }, []);
    expect(r.code).toBe(0);
    expect(r.out.split("\n")).toHaveLength(2);
    const check = expectExit(await runCli(["config", "check", "--config", fifo], { env: h.env, timeoutMs: 10_000 }), 2);
    expect(check.stderr).toContain(`${fifo}: not a regular file`);
  });

  test("a model id holding a newline or escape codes prints one line", async () => {
    const stdin = JSON.stringify({ model: { id: "gpt-5\nsecond line\u001b[2J", display_name: "x" } });
    const r = expectExit(await runCli(["statusline", "--port", String(stub.port)], { env: cliHome().env, stdin }), 0);
    expect(r.stdout.split("\n")).toHaveLength(2);
    expect(r.stdout).not.toContain("\u001b[2J");
  });
});

describe("ccp statusline --install leaves a settings file as its owner would", () => {
  test("a dangling link (a dotfiles checkout not made yet) stays a link; the file it names is created", async () => {
    const h = cliHome();
    mkdirSync(join(h.home, ".claude"));
    const target = join(h.home, "dotfiles", "claude", "settings.json");
    const link = join(h.home, ".claude", "settings.json");
    symlinkSync("../dotfiles/claude/settings.json", link);
    expectExit(await runCli(["statusline", "--install"], { env: h.env }), 0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe("../dotfiles/claude/settings.json");
    expect(JSON.parse(readFileSync(target, "utf8")).statusLine.type).toBe("command");
  });

  test.each(["12345678901234567890", "1e400", "0.12345678901234567890123"])("a number JSON would not give back (%s): refused, the file untouched", async (n) => {
    const h = cliHome();
    const file = join(h.home, "s.json");
    const text = `{"feedbackSurveyState": {"lastShown": ${n}}, "note": "1e400 in a string is fine"}\n`;
    writeFileSync(file, text);
    const r = expectExit(await runCli(["statusline", "--install", "--settings", file], { env: h.env }), 1);
    expect(r.stderr).toContain(`holding the number ${n}`);
    expect(r.stderr).toContain("it was left as it is");
    expect(readFileSync(file, "utf8")).toBe(text);
    expect(existsSync(`${file}.bak`)).toBe(false);
  });
});
