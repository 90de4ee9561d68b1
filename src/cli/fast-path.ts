/**
 * The argv forms src/cli/main.ts runs before loading the command table: `statusline` alone or
 * with a port (`--port N`, `-p N`, `--port=N`), as Claude Code's statusLine setting runs it.
 * Any other form (--install, --help, a mistake) goes through commander like every command.
 * Returns the port (0: none given), or undefined when argv is not such a form.
 */
export function fastStatusline(args: readonly string[]): number | undefined {
  if (args[0] !== "statusline") return undefined;
  if (args.length === 1) return 0;
  const value = args.length === 2 ? /^--port=(.*)$/.exec(args[1]!)?.[1] : args.length === 3 && (args[1] === "--port" || args[1] === "-p") ? args[2] : undefined;
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 65_535 ? n : undefined;
}
