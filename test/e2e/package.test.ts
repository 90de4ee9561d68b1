import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, scratchDir } from "../support/ccp.ts";
import { cliHome, expectExit, freePort, killLeftovers, runCli, type CliHome } from "../support/cli.ts";

/**
 * The npm package as a user meets it: `npm pack`, `npm install -g` into a temporary prefix (Bun
 * arrives as a dependency from the npm registry), then the installed `ccp` alone on PATH runs
 * --version, config init, start, status and stop.
 */
setDefaultTimeout(120_000);
const npm = Bun.which("npm");
const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

async function sh(cmd: string[], cwd: string, timeoutMs: number): Promise<string> {
  const proc = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, npm_config_update_notifier: "false" } });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}\n--- stdout\n${out}\n--- stderr\n${err}`);
  return out;
}

if (!npm) {
  test.skip("the npm package (skipped: npm is not on PATH, so nothing can pack or install it)", () => {});
} else {
  describe("the npm package", () => {
    const work = scratchDir("ccp-pkg-");
    const prefix = join(work, "prefix");
    const ccp = () => [join(prefix, "bin", "ccp")];
    let files: string[] = [];
    let tarball: string;
    let h: CliHome;
    let port: number;
    // Only what the install put on PATH: no checkout, no node_modules/.bin, no Node.js needed to run.
    const run = (args: string[], cwd?: string) => runCli(args, { cmd: ccp(), env: { ...h.env, PATH: "/usr/bin:/bin" }, ...(cwd ? { cwd } : {}), timeoutMs: 60_000 });

    beforeAll(async () => {
      const packed = JSON.parse(await sh([npm, "pack", "--json", "--pack-destination", work], ROOT, 120_000)) as { filename: string; files: { path: string }[] }[];
      files = packed[0]!.files.map((f) => f.path);
      tarball = join(work, packed[0]!.filename);
      await sh([npm, "install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", tarball], work, 300_000);
      h = cliHome();
      port = await freePort();
    }, 480_000);
    afterAll(async () => {
      if (h) {
        await run(["stop", "--port", String(port)]).catch(() => undefined);
        killLeftovers(h.state);
      }
      // The install holds Bun's binary (about 100 MB): not left in the temp dir.
      rmSync(work, { recursive: true, force: true });
    });

    test("holds the program and its manual, no tests, benchmarks, scripts or lab notes", () => {
      expect(files).toContain("bin/ccp");
      expect(files).toContain("src/cli/main.ts");
      expect(files).toContain("package.json");
      expect(files).toContain("README.md");
      const extra = files.filter((f) => !/^(bin|src)\//.test(f) && !["package.json", "README.md", "SECURITY.md", "LICENSE"].includes(f));
      expect(extra).toEqual([]);
      expect(files.filter((f) => /(^|\/)(test|tests|bench|bench-results|docs|scripts)\/|\.test\.ts$/.test(f))).toEqual([]);
    });

    test("puts ccp on the prefix's PATH and prints the package version", async () => {
      expect(existsSync(join(prefix, "bin", "ccp"))).toBe(true);
      const r = expectExit(await run(["--version"], h.home), 0);
      expect(r.stdout.trim()).toBe(version);
      // The completion scripts' fixed parts are files beside the code: the package carries them.
      expect(expectExit(await run(["completion", "bash"], h.home), 0).stdout).toContain("complete -F _ccp_completion ccp");
    });

    test("finds Bun wherever npm put it: hoisted into a project's node_modules, or left in its platform package (scripts off)", async () => {
      const project = join(work, "project");
      mkdirSync(project);
      writeFileSync(join(project, "package.json"), '{"name":"uses-ccp","version":"1.0.0","private":true}\n');
      await sh([npm!, "install", "--no-audit", "--no-fund", tarball], project, 300_000);
      expect(existsSync(join(project, "node_modules", "bun"))).toBe(true);
      expect(existsSync(join(project, "node_modules", "ccp", "node_modules", "bun"))).toBe(false);
      const hoisted = await runCli(["--version"], { cmd: [join(project, "node_modules", ".bin", "ccp")], env: { ...h.env, PATH: "/usr/bin:/bin" } });
      expect(expectExit(hoisted, 0).stdout.trim()).toBe(version);

      const bare = join(work, "scripts-off");
      await sh([npm!, "install", "-g", "--ignore-scripts", "--prefix", bare, "--no-audit", "--no-fund", tarball], work, 300_000);
      const r = await runCli(["--version"], { cmd: [join(bare, "bin", "ccp")], env: { ...h.env, PATH: "/usr/bin:/bin" } });
      expect(expectExit(r, 0).stdout.trim()).toBe(version);
    }, 480_000);

    test("ignores a stray .env and bunfig.toml in the directory it runs in", async () => {
      const dir = scratchDir("ccp-pkg-cwd-");
      writeFileSync(join(dir, ".env"), "CCP_PROFILE=from-dotenv\n");
      writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
      writeFileSync(join(dir, "preload.ts"), 'console.log("PRELOADED");\n');
      const r = expectExit(await run(["config", "show", "--json"], dir), 0);
      expect(r.stdout).not.toContain("PRELOADED");
      expect(JSON.parse(r.stdout).profile).toBe("default");
    });

    test("config init, start, status and stop from the install", async () => {
      const init = expectExit(await run(["config", "init"], h.home), 0);
      const configFile = join(h.home, ".config", "ccp", "config.toml");
      expect(init.stdout).toContain(configFile);
      expect(readFileSync(configFile, "utf8")).toContain("[lanes.anthropic]");

      const start = expectExit(await run(["start", "--port", String(port)], h.home), 0);
      expect(start.stdout).toContain(`ccp is running at http://127.0.0.1:${port}`);
      const status = JSON.parse(expectExit(await run(["status", "--port", String(port), "--json"], h.home), 0).stdout);
      expect(status).toMatchObject({ running: true, port, config: configFile });

      expectExit(await run(["stop", "--port", String(port)], h.home), 0);
      const after = await run(["status", "--port", String(port), "--json"], h.home);
      expect(after.code).toBe(3);
      expect(JSON.parse(after.stdout).running).toBe(false);
    });
  });
}
