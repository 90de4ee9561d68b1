import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { ccpCommand, ROOT } from "../support/ccp.ts";
import { ensureDebianPackage } from "../support/apt.ts";
import { cliHome, expectExit, freePort, killLeftovers, runCli, type CliHome } from "../support/cli.ts";

/**
 * Shell completion as a user gets it: the script `ccp completion <shell>` prints, loaded into the
 * real shell, completing partial command lines. The ccp on PATH is this one (source, or the
 * binary under CCP_TEST_BIN); a real instance runs, so its port is among the candidates, and the
 * config defines profiles. bash: COMP_WORDS/COMP_CWORD and the completion function; fish: its own
 * `complete -C`; zsh: the script's function under stand-ins for compsys's builtins (compadd,
 * _describe), which print what they are given.
 */
setDefaultTimeout(120_000);
let h: CliHome;
let port: number;
let other: string;

/** Candidates per command line, from a shell that ran `harness` with the script in `script`. */
async function complete(shell: string[], harness: string, lines: readonly string[][]): Promise<string[][]> {
  const file = join(h.home, `harness-${basename(shell[0]!)}`);
  writeFileSync(file, harness + lines.map((l) => `c ${l.map((w) => `'${w}'`).join(" ")}\n`).join(""));
  const proc = Bun.spawn([...shell, file], { env: h.env, cwd: h.home, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await proc.exited) !== 0) throw new Error(`${shell[0]} failed:\n${out}\n${err}`);
  const results = out.split("<end>\n").slice(0, -1);
  expect(results.length).toBe(lines.length);
  return results.map((r) => r.split("\n").filter(Boolean).sort());
}

const sorted = (...w: string[]) => [...w].sort();

beforeAll(async () => {
  h = cliHome();
  const bin = join(h.home, "bin");
  mkdirSync(bin);
  const cmd = ccpCommand();
  if (cmd.length === 1) symlinkSync(cmd[0]!, join(bin, "ccp"));
  else symlinkSync(join(ROOT, "bin", "ccp"), join(bin, "ccp"));
  h.env.PATH = `${bin}:${h.env.PATH}`;
  expectExit(await runCli(["config", "init"], { env: h.env }), 0);
  appendFileSync(join(h.home, ".config", "ccp", "config.toml"), "\n[profiles.night-shift]\n");
  other = join(h.home, "other.toml");
  writeFileSync(other, '[profiles.elsewhere]\nhost = "127.0.0.1"\n');
  port = await freePort();
  expectExit(await runCli(["start", "--port", String(port)], { env: h.env }), 0);
});

afterAll(async () => {
  if (!h) return;
  await runCli(["stop", "--port", String(port)], { env: h.env, timeoutMs: 30_000 }).catch(() => undefined);
  killLeftovers(h.state);
});

async function script(shell: string): Promise<string> {
  const file = join(h.home, `ccp.${shell}`);
  writeFileSync(file, expectExit(await runCli(["completion", shell], { env: h.env }), 0).stdout);
  return file;
}

describe("ccp completion", () => {
  test("an unknown shell, or none, is a usage mistake: exit 2 with a hint", async () => {
    for (const args of [["completion", "tcsh"], ["completion"]]) {
      const r = expectExit(await runCli(args, { env: h.env }), 2);
      expect(r.stderr).toContain("hint:");
      expect(r.stdout).toBe("");
    }
  });

  test("--words names the running instances' ports and the config's profiles", async () => {
    expect(expectExit(await runCli(["completion", "--words", "ports"], { env: h.env }), 0).stdout).toBe(`${port}\n`);
    expect(expectExit(await runCli(["completion", "--words", "profiles"], { env: h.env }), 0).stdout).toBe("default\ndev\nnight-shift\n");
    expect(expectExit(await runCli(["completion", "--words", "profiles", "--config", other], { env: h.env }), 0).stdout).toBe("default\nelsewhere\n");
  });

  test("bash completes commands, options, their values, profiles and ports", async () => {
    const bash = Bun.which("bash");
    if (!bash) return console.warn("skipped: no bash on PATH");
    const harness = `source ${await script("bash")}
c() { COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _ccp_completion; printf '%s\\n' "\${COMPREPLY[@]}"; echo '<end>'; }
`;
    const got = await complete([bash], harness, [
      ["ccp", "st"],
      ["ccp", "start", "--p"],
      ["ccp", "start", "--profile", ""],
      ["ccp", "ok", "--config", other, "--profile", ""],
      ["ccp", "stop", ""],
      ["ccp", "status", "--port", ""],
      ["ccp", "config", ""],
      ["ccp", "config", "check", "--"],
      ["ccp", "env", "--shell", "=", "f"],
      ["ccp", "completion", ""],
      ["ccp", "wrap", "--port", String(port), "sh", "--"],
      ["ccp", "usage", "--config", other.slice(0, -4)],
      ["ccp", "wrap", "--port", String(port), "ba"],
    ]);
    // A command on PATH to wrap, the port given before it skipped as --port's value.
    expect(got.pop()).toContain("bash");
    expect(got).toEqual([
      sorted("start", "status", "statusline", "stop"),
      sorted("--port", "--profile"),
      sorted("default", "dev", "night-shift"),
      sorted("default", "elsewhere"),
      [String(port)],
      [String(port)],
      sorted("init", "check", "show", "help"),
      sorted("--config", "--profile", "--json", "--help"),
      ["fish"],
      sorted("bash", "zsh", "fish"),
      // sh's own words from here on, not wrap's options (no file here starts with --).
      [],
      [other],
    ]);
  });

  test("fish completes with the script: syntax valid, commands, profiles, ports", async () => {
    const fish = ensureDebianPackage("fish", () => Bun.which("fish") !== null) === undefined ? Bun.which("fish") : null;
    const file = await script("fish");
    if (!fish) {
      console.warn("fish is not installed (and could not be): only the script's content is checked");
      expect(await Bun.file(file).text()).toContain("complete -c ccp -n '__fish_use_subcommand' -a 'start'");
      return;
    }
    expectExit(await runCli([file], { cmd: [fish, "-n"], env: h.env }), 0);
    const harness = `source ${file}\nfunction c; complete -C "$argv" | string replace -r '\\t.*' ''; echo '<end>'; end\n`;
    const got = await complete([fish], harness, [["ccp st"], ["ccp start --profile "], ["ccp stop "], ["ccp config "], ["ccp env --shell "]]);
    expect(got).toEqual([
      sorted("start", "status", "statusline", "stop"),
      sorted("default", "dev", "night-shift"),
      [String(port)],
      sorted("init", "check", "show", "help"),
      sorted("bash", "zsh", "fish"),
    ]);
  });

  test("zsh loads the script and completes: commands, options, profiles, ports", async () => {
    const zsh = ensureDebianPackage("zsh", () => Bun.which("zsh") !== null) === undefined ? Bun.which("zsh") : null;
    const file = await script("zsh");
    const text = await Bun.file(file).text();
    expect(text.startsWith("#compdef ccp\n")).toBe(true);
    if (!zsh) {
      console.warn("zsh is not installed (and could not be): only the script's content is checked");
      expect(text).toContain("compdef _ccp ccp");
      return;
    }
    expectExit(await runCli([file], { cmd: [zsh, "-n"], env: h.env }), 0);
    // compsys's builtins, standing in: each prints the candidates matching the word at the cursor.
    const harness = `compdef() { }
compadd() { local i=\${@[(i)--]}; print -rl -- \${(M)@[i+1,-1]:#\${cur}*} }
_describe() { local -a names=("\${(@)\${(@P)4}%%:*}"); print -rl -- \${(M)names:#\${cur}*} }
_files() { print -r -- '<files>' }
_normal() { print -r -- "<\${words[1]}>" }
compset() { cur=\${cur#*=} }
source ${file}
c() { words=("$@"); CURRENT=$#words; _ccp; print -r -- '<end>' }
`;
    const got = await complete([zsh, "-f"], harness, [
      ["ccp", "st"],
      ["ccp", "start", "--p"],
      ["ccp", "start", "--profile", ""],
      ["ccp", "restart", ""],
      ["ccp", "config", "init", "--config", ""],
      ["ccp", "env", "--shell=f"],
      ["ccp", "wrap", "--start", "claude", "-"],
    ]);
    expect(got).toEqual([sorted("start", "status", "statusline", "stop"), sorted("--port", "--profile"), sorted("default", "dev", "night-shift"), [String(port)], ["<files>"], ["fish"], ["<claude>"]]);
  });
});
