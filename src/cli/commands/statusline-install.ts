import { constants, copyFileSync, existsSync, lstatSync, mkdirSync, readlinkSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { readEnv } from "../../config/env.ts";
import { readRegular } from "../../config/read-regular.ts";
import { selfCommand } from "../../ops/self.ts";
import { mergeStatusLine, shellWord, statusLineSetting } from "../claude-settings.ts";
import { ExitError } from "../exit-error.ts";
import { paint } from "../render.ts";
import type { StatuslineOptions } from "./statusline.ts";

/**
 * `ccp statusline --install`: points Claude Code's statusLine at this ccp. The command written
 * runs this same ccp wherever Claude Code starts it: the compiled binary by its absolute path,
 * or Bun and this checkout's entry script (`bun src/cli/main.ts`, bin/ccp), both absolute.
 */
export function installStatusline(opts: StatuslineOptions): void {
  const file = resolve(opts.settings ?? readEnv().claudeSettings);
  const command = [...selfCommand(), "statusline", ...(opts.port !== undefined ? ["--port", String(opts.port)] : [])].map(shellWord).join(" ");
  // A settings.json that is a link (a dotfiles manager's) stays one: the file it points at is written, even one not there yet.
  const target = linkTarget(file);
  const text = readSettings(target, file);
  const merge = mergeStatusLine(text, statusLineSetting(command), opts.force === true);
  if (merge.kind === "unreadable") {
    throw new ExitError(1, `${file} is ${merge.reason}; it was left as it is`, "fix the file (or move it away), then run ccp statusline --install again");
  }
  if (merge.kind === "other") {
    throw new ExitError(1, `${file} already has another statusLine: ${JSON.stringify(merge.existing)}`, "ccp statusline --install --force replaces it (after a backup of the file)");
  }
  if (merge.kind === "same") {
    console.log(`${file} already runs ccp's status line: ${command}`);
    return;
  }
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  const backup = text === undefined ? undefined : backUp(target);
  writeWhole(target, merge.text);
  console.log(`${paint.ok("statusLine set")} in ${file}${text === undefined ? " (a new file)" : ""}: ${command}`);
  if (merge.replaced !== undefined) console.log(`replaced   ${JSON.stringify(merge.replaced)}`);
  if (backup) console.log(`backup     ${backup}`);
  console.log(paint.hint("Claude Code shows it at once (a session already running within seconds) and again after each answer; ccp statusline prints it here (with no session: ccp: on or ccp: off)"));
}

/** Where a path's links lead, followed by hand so a dangling link gives the file it names (the link is kept, its target written). */
function linkTarget(file: string): string {
  let path = file;
  for (let hops = 0; hops < 40; hops++) {
    let link: string;
    try {
      if (!lstatSync(path).isSymbolicLink()) return existsSync(path) ? realpathSync(path) : path;
      link = readlinkSync(path);
    } catch {
      return path; // not there: a new file
    }
    path = resolve(dirname(path), link);
  }
  throw new ExitError(1, `${file}: too many levels of links`, "point the link at a file, or give another with --settings");
}

function readSettings(target: string, shown: string): string | undefined {
  try {
    return readRegular(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ExitError(1, `cannot read ${shown}: ${(e as Error).message}`, "check the file's permissions, or give another with --settings");
  }
}

/** A copy beside the file, settings.json.bak-<UTC time>; never over an earlier backup. */
function backUp(file: string): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  for (let n = 1; ; n++) {
    const backup = `${file}.bak-${stamp}${n > 1 ? `-${n}` : ""}`;
    try {
      copyFileSync(file, backup, constants.COPYFILE_EXCL);
      return backup;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}

/** Written to a new file beside it and renamed into place: Claude Code never reads half a file. The mode is kept (0600 for a new file). */
function writeWhole(file: string, text: string): void {
  const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o600;
  const tmp = `${file}.ccp-${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}
