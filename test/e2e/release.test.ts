import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { machoSignatureProblem, signAdHoc, signatureIdentifier } from "../../scripts/macho-sign.ts";
import { RELEASE_DIR, sha256 } from "../../scripts/release.ts";
import { PLATFORMS, pinnedBunVersion, platformName, runtimeFor } from "../../scripts/runtimes.ts";
import { ROOT, scratchDir } from "../support/ccp.ts";
import { cliHome, expectExit, runCli } from "../support/cli.ts";
import { describeOperatorFlow } from "../support/cli-flow.ts";
import { exeHeader } from "../support/exe-header.ts";

/**
 * `npm run release`: every platform's single executable and SHA256SUMS in dist/release. The
 * linux-x64 one runs the operator flow here; the others are checked by their headers (and the
 * macOS ones by their code signatures, which macOS checks before it runs them).
 */
setDefaultTimeout(120_000);
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };
const RUNTIMES = process.env.CCP_RUNTIME_CACHE || join(ROOT, ".tmp", "runtimes");
const file = (name: string) => join(RELEASE_DIR, name);
const linux = () => [file("ccp-linux-x64")];
let log = "";

beforeAll(async () => {
  // The first run fetches four Bun runtimes (about 40 MB each) from the npm registry; later ones use .tmp/runtimes.
  const proc = Bun.spawn([process.execPath, join(ROOT, "scripts", "release.ts")], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, CCP_RUNTIME_CACHE: RUNTIMES } });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await proc.exited) !== 0) throw new Error(`npm run release failed:\n${out}\n${err}`);
  log = out;
}, 900_000);

describe("the release", () => {
  test("is one executable per platform, each of its platform and architecture, and SHA256SUMS", () => {
    expect(readdirSync(RELEASE_DIR).sort()).toEqual(["SHA256SUMS", ...PLATFORMS.map((p) => `ccp-${platformName(p)}`)].sort());
    for (const p of PLATFORMS) {
      const f = file(`ccp-${platformName(p)}`);
      expect(statSync(f).mode & 0o111).not.toBe(0);
      expect({ name: platformName(p), ...exeHeader(readFileSync(f)) }).toEqual({ name: platformName(p), format: p.os === "linux" ? "elf" : "macho", arch: p.arch, executable: true });
    }
  });

  test("SHA256SUMS holds each executable's sum, as sha256sum -c reads it", async () => {
    const lines = readFileSync(file("SHA256SUMS"), "utf8").trimEnd().split("\n");
    expect(lines.length).toBe(PLATFORMS.length);
    for (const line of lines) {
      const [, hex, name] = /^([0-9a-f]{64}) {2}(ccp-[a-z0-9-]+)$/.exec(line) ?? [];
      expect(name && existsSync(file(name))).toBeTruthy();
      expect(await sha256(file(name!))).toBe(hex!);
    }
    const sha256sum = Bun.which("sha256sum");
    if (sha256sum) {
      const r = Bun.spawnSync([sha256sum, "-c", "SHA256SUMS"], { cwd: RELEASE_DIR });
      expect(r.stdout.toString().trim().split("\n")).toEqual(PLATFORMS.map((p) => `ccp-${platformName(p)}: OK`));
    }
  });

  test("the macOS executables carry a code signature that matches their bytes", () => {
    for (const p of PLATFORMS.filter((x) => x.os === "darwin"))
      expect({ name: platformName(p), problem: machoSignatureProblem(readFileSync(file(`ccp-${platformName(p)}`))) }).toEqual({ name: platformName(p), problem: undefined });
  });

  test("the signature check agrees with Apple's and Bun's signers: their files pass, a changed byte fails", () => {
    const version = pinnedBunVersion(pkg);
    for (const p of PLATFORMS.filter((x) => x.os === "darwin")) {
      // Bun's runtimes as published, signed by Apple's tools.
      const runtime = readFileSync(join(RUNTIMES, `bun-${platformName(p)}-${version}`));
      expect(machoSignatureProblem(runtime)).toBeUndefined();
      runtime[4096 * 5 + 7]! ^= 1;
      // Page 5 of 4 KiB pages, or page 1 of 16 KiB ones (as Apple signs arm64 binaries).
      expect(machoSignatureProblem(runtime)).toMatch(/^page [15] does not match its hash$/);
    }
    // Bun signs its darwin-arm64 output itself: signing it again here writes the same bytes.
    const arm = readFileSync(file("ccp-darwin-arm64"));
    const identifier = signatureIdentifier(arm);
    expect(identifier).toBeDefined();
    expect(signAdHoc(arm, identifier!).equals(arm)).toBe(true);
  });

  test("the linux-x64 executable runs alone, far from the checkout, and says the package version", async () => {
    const h = cliHome();
    const r = expectExit(await runCli(["--version"], { cmd: linux(), env: { ...h.env, PATH: "/usr/bin:/bin" }, cwd: h.home }), 0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  test("runtimes come from the cache once fetched: a second release downloads nothing", async () => {
    // This run's log says where each came from; a runtime already in a cache is returned without npm.
    expect(log).toContain(`4 executables and SHA256SUMS in ${RELEASE_DIR}`);
    const cache = scratchDir("ccp-runtimes-");
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, "bun-linux-arm64-9.9.9"), "cached");
    const lines: string[] = [];
    const path = await runtimeFor({ os: "linux", arch: "arm64" }, "9.9.9", cache, (l) => lines.push(l));
    expect(path).toBe(join(cache, "bun-linux-arm64-9.9.9"));
    expect(lines).toEqual([`runtime bun-linux-arm64 9.9.9: cached (${path})`]);
  });

  test("the Bun version must be pinned exactly: a range could build on another Bun than the package runs on", () => {
    expect(pinnedBunVersion({ dependencies: { bun: "1.4.5" } })).toBe("1.4.5");
    expect(() => pinnedBunVersion({ dependencies: { bun: "^1.4.5" } })).toThrow("exact version");
    expect(() => pinnedBunVersion({})).toThrow("exact version");
  });
});

describeOperatorFlow("release linux-x64", linux);
