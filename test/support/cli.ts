import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT, ccpCommand, scratchDir } from "./ccp.ts";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A scratch HOME / CCP_HOME and the environment the CLI runs with in a test. */
export interface CliHome {
  readonly home: string;
  readonly state: string;
  readonly env: Record<string, string>;
}

export function cliHome(extra: Record<string, string> = {}): CliHome {
  const home = scratchDir("ccp-cli-");
  const state = join(home, "state");
  const PATH = `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`;
  return {
    home,
    state,
    // A dead HTTP(S) proxy, as operators behind one have: ccp must never route loopback through it.
    env: {
      PATH,
      HOME: home,
      CCP_HOME: state,
      NO_COLOR: "1",
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      ANTHROPIC_API_KEY: "sk-ant-api03-client-key-for-tests",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      ...extra,
    },
  };
}

/** Runs one CLI command to completion (source by default, or `cmd`, e.g. the compiled binary). */
export async function runCli(args: readonly string[], o: { env: Record<string, string>; cmd?: readonly string[]; cwd?: string; stdin?: string; timeoutMs?: number }): Promise<CliResult> {
  const proc = Bun.spawn([...(o.cmd ?? ccpCommand()), ...args], {
    env: o.env,
    cwd: o.cwd,
    stdin: o.stdin === undefined ? "ignore" : new TextEncoder().encode(o.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), o.timeoutMs ?? 180_000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A port nothing listens on right now (bind 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Kills whatever detached servers a test left behind under this CCP_HOME (by their pid files). */
export function killLeftovers(state: string): void {
  const dir = join(state, "run");
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    try {
      const { pid } = JSON.parse(readFileSync(join(dir, f), "utf8")) as { pid: number };
      // Only a ccp server: a pid file can outlive its process and the pid be reused.
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("--foreground")) process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Fails with everything the command printed when its exit code is not the expected one. */
export function expectExit(r: CliResult, code: number): CliResult {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}
