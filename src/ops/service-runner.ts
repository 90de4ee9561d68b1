/** What a service manager's command said. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs systemctl or launchctl; tests pass one that records the argv and answers as they script. */
export type Runner = (argv: readonly string[]) => Promise<RunResult>;

/** A manager command that does not answer within this is given up (a hung D-Bus, say). */
const TIMEOUT_MS = 60_000;

/** The real runner: the command looked up on PATH and run without a shell; a missing one reads as exit 127. */
export const systemRunner: Runner = async (argv) => {
  const exe = Bun.which(argv[0] ?? "");
  if (!exe) return { code: 127, stdout: "", stderr: `${argv[0]}: command not found` };
  const proc = Bun.spawn([exe, ...argv.slice(1)], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), TIMEOUT_MS);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, stdout, stderr };
};

/** One line of what a failed command said, for an error message. */
export function failureText(argv: readonly string[], r: RunResult): string {
  const said = (r.stderr.trim() || r.stdout.trim()).split("\n")[0] ?? "";
  return `${argv.join(" ")} exited ${r.code}${said ? `: ${said}` : ""}`;
}
