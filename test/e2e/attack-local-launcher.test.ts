import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, scratchDir } from "../support/ccp.ts";
import { cliHome, type CliHome, freePort, killLeftovers, runCli } from "../support/cli.ts";

/**
 * Attack review (local attacker): which Bun bin/ccp runs, and what it reads from the directory it
 * runs in. The attacker can create directories where every user can (/tmp: here a scratch
 * directory standing in for it) and can ship files in a repository the user cds into.
 *
 * FINDING (fails on the current code):
 * - bin/ccp walks up to / looking for node_modules/bun/bin/bun.exe or @oven/bun-*\/bin/bun. A
 *   ccp whose own node_modules holds no Bun (a checkout or an unpacked tarball under /tmp before
 *   `npm install`, an install with --omit=optional --ignore-scripts) runs whatever Bun another
 *   user planted in /tmp/node_modules (or /home/node_modules, ...): their code, as the user.
 *
 * DEFENCES that hold: the package's own Bun wins over an ancestor's; a node_modules, .env or
 * bunfig.toml in the current directory is not read, neither by the CLI nor by the server a
 * detached `ccp start` runs (selfCommand passes on --no-env-file --config=/dev/null).
 */
setDefaultTimeout(120_000);
let h: CliHome;
let shared: string;
let marker: string;

/** A "Bun" that only leaves a mark that it ran (the attacker's code). */
function plantBun(dir: string): void {
  for (const bin of [join(dir, "node_modules", "bun", "bin", "bun.exe"), join(dir, "node_modules", ".bin", "bun")]) {
    mkdirSync(join(bin, ".."), { recursive: true });
    writeFileSync(bin, `#!/bin/sh\necho "attacker's bun ran: $*" >> '${marker}'\necho 0.1.0\n`);
    chmodSync(bin, 0o755);
  }
}

/** A copy of the package's launcher beside the source, with (or without) its own node_modules. */
function checkout(dir: string, ownBun: boolean): string {
  mkdirSync(join(dir, "bin"), { recursive: true });
  copyFileSync(join(ROOT, "bin", "ccp"), join(dir, "bin", "ccp"));
  chmodSync(join(dir, "bin", "ccp"), 0o755);
  symlinkSync(join(ROOT, "src"), join(dir, "src"));
  copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
  if (ownBun) symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return join(dir, "bin", "ccp");
}

beforeAll(() => {
  h = cliHome();
  // Stands in for /tmp: a directory where another user may create node_modules.
  shared = scratchDir("ccp-attack-shared-");
  marker = join(h.home, "attacker-ran");
  plantBun(shared);
});

afterAll(() => {
  if (h) killLeftovers(h.state);
  rmSync(shared, { recursive: true, force: true });
});

describe("attack-local: the Bun bin/ccp runs", () => {
  test("a ccp without its own Bun does not run a Bun planted in a node_modules of a shared ancestor directory", async () => {
    rmSync(marker, { force: true });
    const ccp = checkout(join(shared, "someone", "ccp-checkout"), false);
    const r = await runCli(["--version"], { cmd: [ccp], env: { ...h.env, PATH: "/usr/bin:/bin" }, cwd: h.home });
    console.log(`exit ${r.code}; ${r.stdout}${r.stderr}; attacker ran: ${existsSync(marker)}`);
    expect(existsSync(marker)).toBe(false);
    // It should say it cannot find its Bun (exit 127 with the hint), as it does at /.
    expect(r.code).toBe(127);
  });

  test("defence: the package's own Bun wins over one planted in an ancestor's node_modules", async () => {
    rmSync(marker, { force: true });
    const ccp = checkout(join(shared, "other", "ccp"), true);
    const r = await runCli(["--version"], { cmd: [ccp], env: { ...h.env, PATH: "/usr/bin:/bin" }, cwd: h.home });
    expect(r.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  test("defence: node_modules, .env and bunfig.toml in the current directory are not read (CLI and detached server)", async () => {
    rmSync(marker, { force: true });
    const repo = join(h.home, "evil-repo");
    mkdirSync(repo, { recursive: true });
    plantBun(repo);
    writeFileSync(join(repo, "evil.ts"), `require("node:fs").appendFileSync(${JSON.stringify(marker)}, "preload ran in " + process.argv.join(" ") + "\\n");\n`);
    writeFileSync(join(repo, "bunfig.toml"), 'preload = ["./evil.ts"]\n[run]\nbun = true\n');
    writeFileSync(join(repo, ".env"), `CCP_HOME=${join(repo, "stolen-state")}\nHTTPS_PROXY=http://127.0.0.1:9\n`);
    const port = await freePort();
    const ccp = join(ROOT, "bin", "ccp");
    try {
      const v = await runCli(["--version"], { cmd: [ccp], env: h.env, cwd: repo });
      expect(v.code).toBe(0);
      const s = await runCli(["start", "--port", String(port)], { cmd: [ccp], env: h.env, cwd: repo, timeoutMs: 60_000 });
      expect(s.code).toBe(0);
      expect(existsSync(join(repo, "stolen-state"))).toBe(false);
      expect(existsSync(marker)).toBe(false);
    } finally {
      await runCli(["stop", "--port", String(port)], { cmd: [ccp], env: h.env, timeoutMs: 30_000 });
    }
  });
});
