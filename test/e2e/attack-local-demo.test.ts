import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ccpCommand, scratchDir } from "../support/ccp.ts";
import { cliHome, type CliHome } from "../support/cli.ts";

/**
 * Attack review (local attacker): `ccp demo --state DIR` with DIR in a shared place
 * (`--state /tmp/ccp-demo`, a path a blog post or a colleague suggests). Another user creates
 * that directory first and puts a symlink at DIR/demo.toml pointing to a file of the victim's.
 *
 * FINDING (fails on the current code):
 * - demo writes DIR/demo.toml with writeFileSync (follows links) before prepareStateDir checks DIR:
 *   the victim's file (here a stand-in for ~/.bashrc) is replaced by the demo's TOML.
 *
 * DEFENCE that holds: without --state the demo's directory is a fresh mkdtemp (0700) that is gone
 * after the demo.
 */
setDefaultTimeout(120_000);
let h: CliHome;
let shared: string;

beforeAll(() => {
  h = cliHome();
  shared = scratchDir("ccp-attack-demo-");
});

afterAll(() => {
  rmSync(shared, { recursive: true, force: true });
});

/** Runs `ccp demo` until it prints its banner (or exits), then SIGINT; returns its output. */
async function runDemo(args: string[], env: Record<string, string>): Promise<string> {
  const proc = Bun.spawn([...ccpCommand(), "demo", "--port", "0", ...args], { env, cwd: h.home, stdout: "pipe", stderr: "pipe" });
  let out = "";
  const reader = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout) out += dec.decode(chunk);
  })();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && proc.exitCode === null && !out.includes("state ")) await Bun.sleep(100);
  proc.kill("SIGINT");
  const killer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  await proc.exited;
  clearTimeout(killer);
  await reader;
  return out + (await new Response(proc.stderr).text());
}

describe("attack-local: ccp demo --state in a shared directory", () => {
  test("a demo.toml symlink planted in --state DIR does not make the demo overwrite the file it points to", async () => {
    const victimFile = join(h.home, ".bashrc");
    const original = "# the user's own shell setup\nalias ll='ls -l'\n";
    writeFileSync(victimFile, original);
    const dir = join(shared, "ccp-demo");
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    symlinkSync(victimFile, join(dir, "demo.toml"));
    const out = await runDemo(["--state", dir], h.env);
    console.log(out.slice(0, 600));
    expect(readFileSync(victimFile, "utf8")).toBe(original);
  });

  test("defence: without --state the demo's directory is a fresh mkdtemp under TMPDIR, removed afterwards", async () => {
    const tmp = join(shared, "tmpdir");
    mkdirSync(tmp);
    const out = await runDemo([], { ...h.env, TMPDIR: tmp });
    const state = /state\s+(\S+)/.exec(out)?.[1];
    expect(state?.startsWith(join(tmp, "ccp-demo-"))).toBe(true);
    expect(existsSync(state!)).toBe(false);
  });
});
