import { accessSync, constants } from "node:fs";
import { join } from "node:path";

const compiled = () => Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");

/**
 * argv that runs this same ccp again: the compiled binary alone, or bun with the flags it was
 * given (bin/ccp's --no-env-file and --config, so a detached server reads no stray .env either)
 * plus the entry script.
 */
export function selfCommand(): string[] {
  return compiled() ? [process.execPath] : [process.execPath, ...process.execArgv, Bun.main];
}
/**
 * What a service runs, for as long as it is installed: the compiled binary, or the checkout's
 * bin/ccp, which finds the checkout's own Bun each time (so an `npm install` that updates Bun does
 * not leave the service pointing at a removed file); bun plus the entry script when there is none.
 */
export function serviceCommand(): string[] {
  if (compiled()) return [process.execPath];
  const script = join(Bun.main, "..", "..", "..", "bin", "ccp");
  try {
    accessSync(script, constants.X_OK);
    return [script];
  } catch {
    return selfCommand();
  }
}
