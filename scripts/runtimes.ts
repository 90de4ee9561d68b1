/**
 * The Bun runtimes a cross-compiled ccp is built on. `bun build --compile --target=…` would
 * download each from GitHub; ccp's release takes them from the npm registry instead, where Bun
 * publishes the same binaries as @oven/bun-<os>-<arch> (npm checks each tarball's integrity), and
 * keeps them in a cache directory so a second release downloads nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface Platform {
  readonly os: "linux" | "darwin";
  readonly arch: "x64" | "arm64";
}

export const PLATFORMS: readonly Platform[] = [
  { os: "linux", arch: "x64" },
  { os: "linux", arch: "arm64" },
  { os: "darwin", arch: "x64" },
  { os: "darwin", arch: "arm64" },
];

/** `linux-x64`: the suffix of the release file, ccp-linux-x64. */
export const platformName = (p: Platform) => `${p.os}-${p.arch}`;
/** Bun's --target for the platform. */
export const bunTarget = (p: Platform) => `bun-${p.os}-${p.arch}`;
/** The npm package holding that platform's Bun (Bun names arm64 aarch64 there). */
export const runtimePackage = (p: Platform) => `@oven/bun-${p.os}-${p.arch === "arm64" ? "aarch64" : p.arch}`;

/** The Bun version package.json pins (dependencies.bun): the runtimes must be that exact one. */
export function pinnedBunVersion(pkg: { dependencies?: Record<string, string> }): string {
  const v = pkg.dependencies?.bun;
  if (!v || !/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`package.json must pin bun to an exact version in dependencies (found ${JSON.stringify(v)})`);
  return v;
}

async function run(cmd: string[], cwd: string): Promise<string> {
  const proc = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await proc.exited) !== 0) throw new Error(`${cmd.join(" ")} failed:\n${err || out}`);
  return out;
}

/**
 * The path of the platform's Bun `version` in `cacheDir`, fetched first if it is not there:
 * `npm pack` of its package, then package/bin/bun taken out of the tarball.
 */
export async function runtimeFor(p: Platform, version: string, cacheDir: string, log: (line: string) => void = console.log): Promise<string> {
  const path = join(cacheDir, `bun-${platformName(p)}-${version}`);
  if (existsSync(path)) {
    log(`runtime ${bunTarget(p)} ${version}: cached (${path})`);
    return path;
  }
  const spec = `${runtimePackage(p)}@${version}`;
  log(`runtime ${bunTarget(p)} ${version}: npm pack ${spec}`);
  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(join(cacheDir, ".fetch-"));
  try {
    const npm = Bun.which("npm");
    if (!npm) throw new Error("npm is not on PATH: it fetches the other platforms' Bun runtimes from the npm registry");
    const [packed] = JSON.parse(await run([npm, "pack", spec, "--json", "--pack-destination", tmp], tmp)) as { filename: string }[];
    await run(["tar", "xzf", join(tmp, packed!.filename), "-C", tmp, "package/bin/bun"], tmp);
    // Renamed into place whole: an interrupted fetch never leaves a half runtime under the cached name.
    renameSync(join(tmp, "package", "bin", "bun"), path);
    return path;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
