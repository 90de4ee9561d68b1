import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDebianPackage } from "../support/apt.ts";
import { ccpCommand, ROOT } from "../support/ccp.ts";
import { cliHome, type CliHome, expectExit, runCli } from "../support/cli.ts";

/**
 * Attack review (local attacker): shell completion fed by a hostile config file. The profile
 * names come straight from the TOML keys of the config named by --config (typed on the line) or
 * $CCP_CONFIG (a team's shared config on a shared machine): a repository the user cds into can ship
 * ./ccp.toml, and a README that says `ccp start --config ./ccp.toml --profile <TAB>`.
 *
 * FINDINGS (fail on the current code):
 * - bash: `compgen -W "$(_ccp_words profiles)"` expands every word again (parameter expansion,
 *   command substitution, arithmetic), and COMPREPLY=($(compgen ...)) globs the result: a profile
 *   named $(cmd) or `cmd` runs cmd on TAB, one named * offers the files of the directory.
 * - `ccp completion --words profiles` reads the config with readFileSync, not readRegular as the
 *   config loader does: a FIFO (or a committed symlink to /dev/zero, /dev/stdin) hangs the TAB.
 *
 * DEFENCES that hold: zsh (compadd) and fish (complete -a) take the words literally.
 */
setDefaultTimeout(120_000);
let h: CliHome;
let repo: string;

const HOSTILE = `
[profiles."$(touch\${IFS}PWNED-dollar)"]
[profiles."\`touch\${IFS}PWNED-backtick\`"]
[profiles."*"]
[profiles."(touch PWNED-fish)"]
`;

beforeAll(() => {
  h = cliHome();
  const bin = join(h.home, "bin");
  mkdirSync(bin);
  const cmd = ccpCommand();
  symlinkSync(cmd.length === 1 ? cmd[0]! : join(ROOT, "bin", "ccp"), join(bin, "ccp"));
  h.env.PATH = `${bin}:${h.env.PATH}`;
  repo = join(h.home, "evil-repo");
  mkdirSync(repo);
});

afterAll(() => {
  if (h) rmSync(h.home, { recursive: true, force: true });
});

/** Writes the hostile ./ccp.toml into the repo and removes what an earlier run of a shell left. */
function plant(): void {
  for (const f of readdirSync(repo)) rmSync(join(repo, f), { force: true });
  writeFileSync(join(repo, "ccp.toml"), HOSTILE);
  writeFileSync(join(repo, "innocent-file.txt"), "");
}

async function script(shell: string): Promise<string> {
  const file = join(h.home, `ccp.${shell}`);
  writeFileSync(file, expectExit(await runCli(["completion", shell], { env: h.env }), 0).stdout);
  return file;
}

async function inRepo(argv: string[]): Promise<string> {
  const proc = Bun.spawn(argv, { env: h.env, cwd: repo, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [out] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return out;
}

describe("attack-local: completion with a hostile config", () => {
  test("bash: TAB after --profile with a repo's ccp.toml runs no code and offers no file names", async () => {
    plant();
    const harness = join(h.home, "harness.bash");
    writeFileSync(
      harness,
      `source ${await script("bash")}
COMP_WORDS=(ccp start --config ./ccp.toml --profile ""); COMP_CWORD=5; COMPREPLY=(); _ccp_completion; printf '%s\\n' "\${COMPREPLY[@]}"
`,
    );
    const out = await inRepo(["bash", harness]);
    const planted = readdirSync(repo).filter((f) => f.startsWith("PWNED"));
    console.log(`bash offered: ${JSON.stringify(out.split("\n").filter(Boolean))}; files the TAB created: ${JSON.stringify(planted)}`);
    expect(planted).toEqual([]);
    // The names are offered as they are, no glob of the directory.
    expect(out.split("\n")).not.toContain("innocent-file.txt");
  });

  test("zsh: profile names that are not plain words are not offered, and no code runs", async () => {
    const why = ensureDebianPackage("zsh", () => Bun.which("zsh") !== null);
    if (why) return console.warn(`skipped: ${why}`);
    plant();
    const harness = join(h.home, "harness.zsh");
    writeFileSync(
      harness,
      `compdef() { }
compadd() { print -rl -- "$@" }
source ${await script("zsh")}
words=(ccp start --config ./ccp.toml --profile ""); CURRENT=6; _ccp
`,
    );
    const out = await inRepo(["zsh", "-f", harness]);
    // Names that are not plain words are not offered at all (ccp completion --words leaves them out); the default is.
    expect(out.split("\n")).toContain("default");
    expect(out).not.toContain("PWNED");
    expect(readdirSync(repo).filter((f) => f.startsWith("PWNED"))).toEqual([]);
  });

  test("fish: profile names that are not plain words are not offered, and no code runs", async () => {
    const why = ensureDebianPackage("fish", () => Bun.which("fish") !== null);
    if (why) return console.warn(`skipped: ${why}`);
    plant();
    const file = await script("fish");
    const out = await inRepo(["fish", "-c", `source ${file}; complete -C 'ccp start --config ./ccp.toml --profile '`]);
    expect(out.split("\n").map((l) => l.split("\t")[0])).toContain("default");
    expect(out).not.toContain("PWNED");
    expect(readdirSync(repo).filter((f) => f.startsWith("PWNED"))).toEqual([]);
  });

  test("completion --words profiles with a FIFO as the config returns (as the config loader refuses it) instead of hanging the TAB", async () => {
    const fifo = join(repo, "fifo.toml");
    if (!existsSync(fifo)) expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    // The config loader (readRegular) refuses a FIFO at once: the same file must not block completion.
    const check = await runCli(["config", "check", "--config", fifo], { env: h.env, cwd: repo, timeoutMs: 60_000 });
    expect(check.code).not.toBe(0);
    const r = await runCli(["completion", "--words", "profiles", "--config", fifo], { env: h.env, cwd: repo, timeoutMs: 20_000 });
    // Killed by the 20 s ceiling (SIGKILL: 137 / -9) on the current code: the TAB hangs the shell.
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("default\n");
  });
});
