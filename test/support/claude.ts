import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, scratchDir } from "./ccp.ts";

export const CLAUDE_BIN = join(ROOT, "node_modules", ".bin", "claude");
export const HAIKU = "claude-haiku-4-5-20251001";
export const SONNET = "claude-sonnet-4-6";

export interface ClaudeResult {
  readonly exitCode: number;
  readonly json: Record<string, unknown> | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** With outputFormat "stream-json": every event Claude Code printed (the last is the result, also in `json`). */
  readonly events: Record<string, unknown>[];
}

/** Runs the real Claude Code CLI (`claude -p ... --output-format json`) against a base URL. */
export async function runClaude(
  baseUrl: string,
  o: {
    model?: string;
    prompt?: string;
    env?: Record<string, string>;
    timeoutMs?: number;
    outputFormat?: "json" | "stream-json";
    /** More of Claude Code's options, after the others (e.g. `["--tools", "Read"]`). */
    args?: readonly string[];
  } = {},
): Promise<ClaudeResult> {
  const home = scratchDir("ccp-claude-home-");
  const format = o.outputFormat ?? "json";
  const proc = Bun.spawn([CLAUDE_BIN, "-p", o.prompt ?? "ok", "--model", o.model ?? HAIKU, "--output-format", format, ...(format === "stream-json" ? ["--verbose"] : []), ...(o.args ?? [])], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      ANTHROPIC_BASE_URL: baseUrl,
      ANTHROPIC_API_KEY: "sk-ant-api03-client-key-for-tests",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      ...o.env,
    },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), o.timeoutMs ?? 90_000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const exitCode = await proc.exited;
  clearTimeout(timer);
  const events: Record<string, unknown>[] = [];
  for (const line of stdout.trim().split("\n")) {
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not an event (a warning line).
    }
  }
  return { exitCode, json: events.at(-1), stdout, stderr, events };
}

/**
 * Claude Code's own state file (`.claude.json` in its CLAUDE_CONFIG_DIR) as it is after a person
 * went through the first run: onboarding done, `workdir` trusted (a status line runs only in a
 * trusted folder), `apiKey` approved (Claude Code keeps its last 20 characters). The interactive
 * `claude` then starts straight at its prompt.
 */
export function writeFirstRunDone(configDir: string, workdir: string, apiKey: string): void {
  mkdirSync(configDir, { recursive: true });
  const state = {
    hasCompletedOnboarding: true,
    lastOnboardingVersion: "2.1.330",
    theme: "dark",
    customApiKeyResponses: { approved: [apiKey.trim().slice(-20)], rejected: [] },
    projects: { [workdir]: { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true, allowedTools: [] } },
  };
  writeFileSync(join(configDir, ".claude.json"), JSON.stringify(state, null, 2));
}
