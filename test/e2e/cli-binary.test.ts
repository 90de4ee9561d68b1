import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../support/ccp.ts";
import { cliHome, expectExit, runCli } from "../support/cli.ts";
import { describeOperatorFlow } from "../support/cli-flow.ts";
import { describeWrap } from "../support/cli-wrap.ts";

/**
 * The compiled binary (dist/ccp, `npm run build`) must behave like the source CLI: it is
 * built once here, then the operator flow and the wrap cases run against it.
 */
setDefaultTimeout(120_000);
const BIN = join(ROOT, "dist", "ccp");
const binary = () => [BIN];

beforeAll(async () => {
  const build = Bun.spawn([process.execPath, join(ROOT, "scripts", "build.ts")], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text()]);
  if ((await build.exited) !== 0) throw new Error(`npm run build failed:\n${out}\n${err}`);
});

describe("the compiled binary", () => {
  test("is one executable that runs without Bun or node_modules beside it", async () => {
    expect(statSync(BIN).mode & 0o111).not.toBe(0);
    const h = cliHome();
    // No node_modules/.bin on PATH, a directory far from the checkout.
    const r = expectExit(await runCli(["--version"], { cmd: binary(), env: { ...h.env, PATH: "/usr/bin:/bin" }, cwd: h.home }), 0);
    expect(r.stdout.trim()).toBe((await Bun.file(join(ROOT, "package.json")).json()).version);
  });

  test("ignores a stray .env and bunfig.toml in the current directory", async () => {
    const h = cliHome();
    writeFileSync(join(h.home, ".env"), "CCP_PROFILE=from-dotenv\nMITM_FORCE_H1=1\n");
    writeFileSync(join(h.home, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
    writeFileSync(join(h.home, "preload.ts"), 'console.log("PRELOADED");\n');
    const r = expectExit(await runCli(["config", "show", "--json"], { cmd: binary(), env: h.env, cwd: h.home }), 0);
    expect(r.stdout).not.toContain("PRELOADED");
    expect(JSON.parse(r.stdout).profile).toBe("default");
  });
});

describeOperatorFlow("binary", binary);
describeWrap("binary", binary);
