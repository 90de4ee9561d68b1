/**
 * argv that runs this same ccp again: the compiled binary alone, or bun with the flags it was
 * given (bin/ccp's --no-env-file and --config, so a detached server reads no stray .env either)
 * plus the entry script.
 */
export function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled ? [process.execPath] : [process.execPath, ...process.execArgv, Bun.main];
}
