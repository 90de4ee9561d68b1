/**
 * Timing `ccp statusline` as Claude Code runs it: a new process per line, Claude Code's JSON on
 * stdin (closed at once), one line read from stdout. Used by `bun run bench` (its statusline
 * phase, against the ccp it started) and by scripts/bench/statusline.ts (against a stub).
 */

/** What Claude Code writes on a status line command's stdin (CLAUDE-CODE-GATEWAY.md §5), for a Sonnet session. */
export const CLAUDE_STDIN = JSON.stringify({
  session_id: "0f1e2d3c-bench",
  model: { id: "claude-sonnet-4-6", display_name: "Sonnet 4.6" },
  workspace: { current_dir: "/tmp", project_dir: "/tmp" },
  version: "2.1.330",
  cost: {},
});

/** One run: wall time from spawn to exit, and the line printed. */
export async function statuslineOnce(cmd: readonly string[], port: number, env: Record<string, string>): Promise<{ ms: number; line: string }> {
  const t0 = performance.now();
  const proc = Bun.spawn([...cmd, "statusline", "--port", String(port)], { env, stdin: new TextEncoder().encode(CLAUDE_STDIN), stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return { ms: performance.now() - t0, line: out.trim() };
}

/** `runs` timed runs after one untimed (the file cache warm, as for a status line redrawn all day). */
export async function timeStatusline(cmd: readonly string[], port: number, runs: number, env: Record<string, string>): Promise<{ times: number[]; line: string }> {
  await statuslineOnce(cmd, port, env);
  const times: number[] = [];
  let line = "";
  for (let i = 0; i < runs; i++) {
    const r = await statuslineOnce(cmd, port, env);
    times.push(r.ms);
    line = r.line;
  }
  return { times, line };
}
