import { readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { mkdirPrivate, replacePrivate } from "../usage/private-file.ts";
import type { Logger } from "./context.ts";

/** The replay key where `ccp replay` finds it: $CCP_HOME/run/ccp-<port>.replay-key, 0600 in a 0700 directory. */
export function writeReplayKey(file: string, key: string, log: Logger): void {
  try {
    mkdirPrivate(dirname(file));
    replacePrivate(file, `${key}\n`);
  } catch (e) {
    log.warn(`ccp replay will not work with this instance: its replay key could not be written to ${file}: ${(e as Error).message}`);
  }
}

/** Removed at stop, unless a newer instance on the port has written its own since. */
export function removeReplayKey(file: string, key: string): void {
  try {
    if (readFileSync(file, "utf8").trim() === key) rmSync(file, { force: true });
  } catch {
    // already gone
  }
}
