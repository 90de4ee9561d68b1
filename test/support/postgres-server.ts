import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ensureDebianPackage, skippedFor } from "./apt.ts";
import { freePort } from "./cli.ts";

/**
 * A PostgreSQL server of a test's own: initdb in a temporary directory, postgres on a free
 * loopback port with its socket in that directory, trust authentication, stopped and removed
 * after. Never the machine's own server (5432). initdb and postgres refuse to run as root, so as
 * root (CI, containers) they run as `nobody`, owning the directory.
 */
export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the server (fast shutdown) and waits for it to exit; the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory (after stop). */
  start(): Promise<void>;
  /** Stops it and removes the directory. */
  close(): Promise<void>;
}

const NOBODY = 65534;
const live = new Set<Subprocess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** The newest /usr/lib/postgresql/<version>/bin that has initdb and postgres. */
function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")) && existsSync(join(root, v, "bin", "postgres")))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

/** Why PostgreSQL cannot be run here, or undefined when it can (installing Debian's postgresql when missing). */
export function postgresUnavailable(): string | undefined {
  return ensureDebianPackage("postgresql", () => binDir() !== undefined);
}

/** For a test file: true (and a line saying why) when its tests must be skipped for want of PostgreSQL. */
export const skipWithoutPostgres = (tests: string): boolean => skippedFor(tests, "PostgreSQL", postgresUnavailable());

const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
/** The command run as the unprivileged user when we are root. */
const unprivileged = (argv: string[]): string[] => (asRoot ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", ...argv] : argv);

export async function startPostgres(): Promise<PostgresServer> {
  const problem = postgresUnavailable();
  if (problem) throw new Error(`cannot run PostgreSQL for this test: ${problem}`);
  const bin = binDir()!;
  const dir = mkdtempSync(join(tmpdir(), "ccp-pg-"));
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  const data = join(dir, "data");
  const [cmd, ...args] = unprivileged([join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
  const init = spawnSync(cmd!, args, {
    encoding: "utf8",
    timeout: 120_000,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C", LC_ALL: "C" },
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout || String(init.error)}`);
  const port = await freePort();
  let proc: Subprocess | undefined;
  let output = "";

  const start = async (): Promise<void> => {
    output = "";
    const p = Bun.spawn(
      unprivileged([
        join(bin, "postgres"),
        "-D",
        data,
        "-p",
        String(port),
        "-k",
        dir,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
      ]),
      { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C", LC_ALL: "C" } },
    );
    proc = p;
    live.add(p);
    const pump = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const chunk of s) output += dec.decode(chunk, { stream: true });
    };
    void pump(p.stdout);
    void pump(p.stderr);
    const until = Date.now() + 60_000;
    while (!/ready to accept connections/.test(output)) {
      if (p.exitCode !== null || Date.now() > until) {
        p.kill("SIGKILL");
        live.delete(p);
        throw new Error(`postgres did not start on port ${port}:\n${output}`);
      }
      await Bun.sleep(50);
    }
  };

  const stop = async (): Promise<void> => {
    const p = proc;
    if (!p) return;
    proc = undefined;
    p.kill("SIGINT"); // fast shutdown: open sessions are ended
    const done = await Promise.race([p.exited, Bun.sleep(30_000).then(() => "timeout" as const)]);
    if (done === "timeout") {
      p.kill("SIGKILL");
      await p.exited;
    }
    live.delete(p);
  };

  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
