import { spawnSync } from "node:child_process";

/**
 * Says why a test file's tests are skipped when a server they need cannot be had (not root, no
 * apt-get, the install failed): one wording for every such file (cluster.test.ts's), so a run on
 * a machine without Redis or PostgreSQL skips them visibly instead of failing. True when skipped.
 */
export function skippedFor(tests: string, server: string, why: string | undefined): boolean {
  if (why) console.warn(`${tests} tests skipped: no ${server} (${why})`);
  return why !== undefined;
}

const tried = new Map<string, string | undefined>();
/** Held while apt-get runs, so parallel test workers install one package at a time. */
const APT_LOCK = "/tmp/ccp-tests-apt.lock";

/**
 * Makes sure a Debian package is installed, installing it with apt-get when we are root
 * (CI machines and developer containers are). Returns undefined when it is there, else why
 * not. Never downloads anything but Debian packages.
 */
export function ensureDebianPackage(pkg: string, present: () => boolean): string | undefined {
  if (present()) return undefined;
  if (tried.has(pkg)) return tried.get(pkg);
  let why: string | undefined;
  if (typeof process.getuid === "function" && process.getuid() !== 0) why = `${pkg} is not installed and we are not root: apt-get install ${pkg}`;
  else if (!Bun.which("apt-get")) why = `${pkg} is not installed and there is no apt-get`;
  else {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    // Test files run in parallel workers: one apt-get at a time (flock), each waiting for dpkg's lock too.
    const aptGet = (args: string[], timeout: number) => {
      const argv = ["apt-get", "-o", "DPkg::Lock::Timeout=600", ...args];
      return Bun.which("flock") ? spawnSync("flock", ["-w", "900", APT_LOCK, ...argv], { env, encoding: "utf8", timeout }) : spawnSync(argv[0]!, argv.slice(1), { env, encoding: "utf8", timeout });
    };
    const install = () => (present() ? { status: 0, stderr: "", stdout: "", error: undefined } : aptGet(["install", "-y", "--no-install-recommends", pkg], 900_000));
    let r = install();
    if (r.status !== 0) {
      aptGet(["update"], 900_000);
      r = install();
    }
    if (r.status !== 0 || !present()) why = `apt-get install ${pkg} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split("\n").slice(-3).join(" / ")}`;
  }
  tried.set(pkg, why);
  return why;
}
