import { CommanderError } from "commander";
import { ConfigError } from "../config/load.ts";
import { ExitError } from "./exit-error.ts";
import { buildProgram } from "./program.ts";
import { paint } from "./render.ts";

/** Runs the command argv names and exits: only here does ccp exit, with the status a command left or threw. */
export async function run(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
    // Only the entry point exits; commands that set an exit status leave it in process.exitCode.
    process.exit(process.exitCode ?? 0);
  } catch (e) {
    // Commander has already printed the message (and the help or version asked for).
    if (e instanceof CommanderError) process.exit(e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2);
    if (e instanceof ExitError) {
      if (e.message) console.error(paint.error(e.message));
      if (e.hint) console.error(paint.hint(e.hint));
      process.exit(e.code);
    }
    if (e instanceof ConfigError) {
      console.error(paint.error(e.message));
      console.error(paint.hint(e.hint ?? "fix the key named above, then run the command again (ccp config check validates a file)"));
      process.exit(2);
    }
    throw e;
  }
}
