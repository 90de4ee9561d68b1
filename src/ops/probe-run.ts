import type { EnvMap } from "../config/env.ts";
import { answeredOver } from "../usage/outcome.ts";
import { header, httpRequest } from "./local-http.ts";
import type { ProbeRow } from "./probe-verdict.ts";
import { applyPlan, proxyEnvPlan, proxyKeyEnvFor } from "./shell-env.ts";
import type { UsageLine } from "./usage-filter.ts";
import { fileSize, readSince } from "./usage-log.ts";

export type Via = "claude" | "http";

export interface ProbeTarget {
  readonly baseUrl: string;
  readonly usageLog: string;
  readonly prompt: string;
  readonly timeoutMs: number;
  /** The caller's environment (credentials, PATH, HOME for Claude Code). */
  readonly env: EnvMap;
  readonly clientKey: string | undefined;
  readonly clientToken: string | undefined;
  /** Path of the claude executable (via claude). */
  readonly claude?: string | undefined;
}

export interface Completion {
  readonly run: number;
  readonly role: ProbeRow["role"];
  readonly model: string;
}

/** A usage line can land a moment after the response ends (the sink batches): poll for it. */
async function waitForLines(path: string, offset: number, done: (lines: UsageLine[]) => boolean, timeoutMs = 10_000): Promise<UsageLine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { records } = readSince(path, offset);
    if (done(records) || Date.now() > deadline) return records;
    await Bun.sleep(50);
  }
}

/** A completion's row from its usage line(s): the last line speaks for it; statuses come from all of them. */
export function rowFrom(c: Completion, lines: readonly UsageLine[], error: string | null): ProbeRow {
  const last = lines.at(-1);
  return {
    ...c,
    status: last?.status ?? null,
    lane: last?.lane ?? null,
    protocol: last ? answeredOver(last) : "none",
    h2: last?.h2 ?? null,
    ttft_ms: last?.ttft_ms ?? null,
    duration_ms: last?.latency_ms ?? null,
    rid: last?.rid ?? null,
    statuses: lines.flatMap(statusesOf),
    error,
  };
}

/** What the upstream answered on each attempt (a retried 502 hides behind a final 200), else the line's status. */
function statusesOf(line: UsageLine): number[] {
  const upstream = (line.attempts ?? []).map((a) => a.status).filter((s): s is number => typeof s === "number");
  return upstream.length ? upstream : [line.status ?? 0];
}

/** Several completions at once, each matched to its usage line(s). */
export function runCompletions(via: Via, t: ProbeTarget, cs: readonly Completion[]): Promise<ProbeRow[]> {
  return via === "http" ? Promise.all(cs.map((c) => viaHttp(t, c))) : viaClaude(t, cs);
}

/** A direct streaming Messages request; its usage line is found by the x-ccp-rid header. */
async function viaHttp(t: ProbeTarget, c: Completion): Promise<ProbeRow> {
  const offset = fileSize(t.usageLog);
  const headers: Record<string, string> = { "content-type": "application/json", "anthropic-version": "2023-06-01" };
  if (t.clientKey) headers["x-api-key"] = t.clientKey;
  else if (t.clientToken) headers.authorization = `Bearer ${t.clientToken}`;
  const keyEnv = proxyKeyEnvFor(t.env);
  if (keyEnv) headers["x-ccp-key"] = t.env[keyEnv]!;
  const body = JSON.stringify({ model: c.model, max_tokens: 32, stream: true, messages: [{ role: "user", content: t.prompt }] });
  let rid: string | null = null;
  let error: string | null = null;
  try {
    const res = await httpRequest(`${t.baseUrl}/v1/messages?beta=true`, { method: "POST", headers, body, timeoutMs: t.timeoutMs });
    rid = header(res, "x-ccp-rid") ?? null;
    if (res.status === 200 && !res.body.includes("event: message_stop")) error = "the stream ended without message_stop";
  } catch (e) {
    error = (e as Error).message;
  }
  const lines = rid ? (await waitForLines(t.usageLog, offset, (ls) => ls.some((l) => l.rid === rid))).filter((l) => l.rid === rid) : [];
  return rowFrom(c, lines, error);
}

/**
 * Real Claude Code (`claude -p`), one process per completion, all at once. Its requests are
 * the usage lines that appeared meanwhile for its model (a retried request leaves several).
 */
async function viaClaude(t: ProbeTarget, cs: readonly Completion[]): Promise<ProbeRow[]> {
  const offset = fileSize(t.usageLog);
  const env = applyPlan(t.env, proxyEnvPlan(t.baseUrl, proxyKeyEnvFor(t.env)));
  env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1";
  const errors = await Promise.all(
    cs.map(async (c) => {
      const proc = Bun.spawn([t.claude ?? "claude", "-p", t.prompt, "--model", c.model, "--output-format", "json"], {
        env,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      const timer = setTimeout(() => proc.kill("SIGKILL"), t.timeoutMs);
      const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      const code = await proc.exited;
      clearTimeout(timer);
      return claudeError(code, stdout, stderr);
    }),
  );
  const mine = (ls: UsageLine[], model: string) => ls.filter((l) => l.model === model && l.op === "messages");
  const lines = await waitForLines(t.usageLog, offset, (ls) => cs.every((c) => mine(ls, c.model).length > 0), 5_000);
  return cs.map((c, i) => rowFrom(c, mine(lines, c.model), errors[i]!));
}

/** What went wrong in a `claude -p --output-format json` run, or null. */
export function claudeError(code: number, stdout: string, stderr: string): string | null {
  let json: { is_error?: unknown; result?: unknown; api_error_status?: unknown } | undefined;
  try {
    json = JSON.parse(stdout.trim().split("\n").pop() ?? "") as typeof json;
  } catch {
    json = undefined;
  }
  if (json?.is_error === true) return `claude: ${String(json.result ?? "error").slice(0, 120)}${json.api_error_status ? ` (HTTP ${String(json.api_error_status)})` : ""}`;
  if (code !== 0) return `claude exited ${code}: ${(stderr.trim() || stdout.trim()).split("\n").pop()?.slice(0, 120) ?? ""}`;
  if (!json) return "claude printed no JSON result";
  return null;
}
