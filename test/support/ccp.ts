import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { readUsageLines } from "./usage-file.ts";

export const ROOT = join(import.meta.dir, "..", "..");
export const BUN = process.execPath;

/**
 * How tests run ccp: from source by default, or the compiled binary when CCP_TEST_BIN
 * names one (CI runs the end-to-end suite both ways).
 */
export function ccpCommand(): string[] {
  const bin = process.env.CCP_TEST_BIN;
  return bin ? [bin] : [BUN, join(ROOT, "src", "cli", "main.ts")];
}

export interface CcpProcess {
  readonly url: string;
  readonly port: number;
  readonly home: string;
  readonly usageFile: string;
  /** The ccp process id (kill -9 tests). */
  readonly pid: number;
  /** Everything the process printed so far. */
  output(): string;
  /** Parsed usage.jsonl lines (waits briefly for the writer to catch up to `atLeast`). */
  usage(atLeast?: number): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

const live = new Set<Subprocess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** A scratch directory that serves as HOME and CCP_HOME for one test. */
export const scratchDir = (prefix = "ccp-test-") => mkdtempSync(join(tmpdir(), prefix));

export interface StartCcpOptions {
  readonly config: string;
  readonly env?: Record<string, string>;
  readonly profile?: string;
  readonly home?: string;
}

/** Starts `ccp start --foreground --port 0` and waits until it says where it listens. */
export async function startCcp(o: StartCcpOptions): Promise<CcpProcess> {
  const home = o.home ?? scratchDir();
  const configFile = join(home, "ccp.toml");
  writeFileSync(configFile, o.config);
  const args = ["start", "--foreground", "--port", "0", "--config", configFile];
  if (o.profile) args.push("--profile", o.profile);
  const proc = Bun.spawn([...ccpCommand(), ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, CCP_HOME: join(home, "state"), NO_COLOR: "1", ...o.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  live.add(proc);
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) text += dec.decode(chunk, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = Date.now() + 30_000;
  let port = 0;
  while (Date.now() < deadline) {
    const m = /ccp listening on http:\/\/[^:]+:(\d+)/.exec(text);
    if (m) {
      port = Number(m[1]);
      break;
    }
    if (proc.exitCode !== null) break;
    await Bun.sleep(50);
  }
  if (!port) {
    proc.kill("SIGKILL");
    live.delete(proc);
    throw new Error(`ccp did not start:\n${text}`);
  }
  const profile = o.profile ?? o.env?.CCP_PROFILE ?? "default";
  const usageFile = join(home, "state", "logs", profile, "usage.jsonl");
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    home,
    usageFile,
    pid: proc.pid,
    output: () => text,
    async usage(atLeast = 0) {
      const until = Date.now() + 10_000;
      for (;;) {
        const lines = readUsageLines(usageFile);
        if (lines.length >= atLeast || Date.now() > until) return lines;
        await Bun.sleep(50);
      }
    },
    async stop() {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited, Bun.sleep(15_000).then(() => "timeout" as const)]);
      if (exited === "timeout") proc.kill("SIGKILL");
      live.delete(proc);
    },
  };
}

/** A config with both lanes pointed at the fake upstream (path prefixes tell the lanes apart). */
export function laneConfig(upstreamUrl: string, caFile: string, o: { anthropic?: string; zai?: string; extra?: string } = {}): string {
  return `port = 0
[lanes.anthropic]
base_url = "${upstreamUrl}/anthropic"
auth = "passthrough"
transport = "${o.anthropic ?? "h2"}"
ca_file = "${caFile}"

[lanes.zai]
base_url = "${upstreamUrl}/zai/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
header = "x-api-key"
transport = "${o.zai ?? "h1"}"
dialect = "zai"
ca_file = "${caFile}"
timeouts = { connect_ms = 5000, tls_ms = 5000, headers_ms = 300000, idle_ms = 120000 }
models = { "claude-haiku-*" = "glm-4.5-air" }

[[routes]]
match = "claude-haiku-*"
lane = "zai"

[[routes]]
match = "*"
lane = "anthropic"
${o.extra ?? ""}`;
}
