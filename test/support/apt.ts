import { spawnSync } from "node:child_process";

const tried = new Map<string, string | undefined>();

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
    const install = () => spawnSync("apt-get", ["install", "-y", "--no-install-recommends", pkg], { env, encoding: "utf8", timeout: 600_000 });
    let r = install();
    if (r.status !== 0) {
      spawnSync("apt-get", ["update"], { env, encoding: "utf8", timeout: 300_000 });
      r = install();
    }
    if (r.status !== 0 || !present()) why = `apt-get install ${pkg} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split("\n").slice(-3).join(" / ")}`;
  }
  tried.set(pkg, why);
  return why;
}
