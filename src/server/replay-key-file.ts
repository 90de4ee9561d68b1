import { readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { mkdirPrivate, replacePrivate } from "../usage/private-file.ts";
import type { Logger } from "./context.ts";

/**
 * The replay key where `ccp replay` finds it: $CCP_HOME/run/ccp-<port>.replay-key, 0600 in a 0700
 * directory, the key on its first line and this server's pid on the second (replay sends nothing
 * to a port whose ccp is not that live process of the user's own: see readReplayKey).
 */
export function writeReplayKey(file: string, key: string, log: Logger): void {
  try {
    mkdirPrivate(dirname(file));
    replacePrivate(file, `${key}\n${process.pid}\n`);
  } catch (e) {
    log.warn(`ccp replay will not work with this instance: its replay key could not be written to ${file}: ${(e as Error).message}`);
  }
}

/** Removed at stop, unless a newer instance on the port has written its own since. */
export function removeReplayKey(file: string, key: string): void {
  try {
    if (readFileSync(file, "utf8").split("\n")[0] === key) rmSync(file, { force: true });
  } catch {
    // already gone
  }
}

/**
 * The replay key of the ccp on a port, from this user's own state directory, only while the
 * server that wrote it is alive and the user's own process: a key file left by a ccp that
 * crashed names a dead pid, and a port someone else took since is not that process.
 */
export function readReplayKey(file: string): string | undefined {
  let lines: string[];
  try {
    lines = readFileSync(file, "utf8").split("\n");
  } catch {
    return undefined;
  }
  const [key, pidText] = lines;
  const pid = Number(pidText);
  if (!key || !Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0); // throws ESRCH for no such process, EPERM for another user's
    return key;
  } catch {
    return undefined;
  }
}
