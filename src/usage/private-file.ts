import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * How ccp writes under its state directory ($CCP_HOME, the captures directory): directories
 * 0700, files 0600, and never through a symbolic link. A planted link would otherwise turn an
 * append (usage.jsonl) or a truncation (the run file) against whatever file it points at
 * (SECURITY.md, "a shared or world-writable state directory").
 *
 * O_NOFOLLOW makes open(2) fail with ELOOP when the last component is a link; rename(2)
 * replaces a link at its destination instead of following it.
 */
const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } = constants;

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Flags for each way ccp opens a file it owns. */
export const NO_FOLLOW = {
  append: O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW,
  /** A file that must not exist yet (a temporary, a capture, a rotated copy). */
  create: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
  /** O_NONBLOCK: a FIFO found at the name must not hang the open (it has no effect on a regular file). */
  read: O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
  readWrite: O_RDWR | O_NOFOLLOW,
} as const;

/**
 * Creates `dir` (and missing parents) 0700: the XDG Base Directory spec asks the same of a state
 * directory's parents. An existing directory is left as it is: the start check
 * (ops/state-dir.ts) refuses one others can write.
 */
export function mkdirPrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * A file found wider than 0600 (an older ccp made them 0644) is narrowed through its descriptor
 * (fchmod): what changes is the file that was opened without following a link, not whatever
 * its name points at by then. Returns the descriptor.
 */
export function narrowed(fd: number): number {
  if ((fstatSync(fd).mode & 0o777 & ~PRIVATE_FILE_MODE) !== 0) fchmodSync(fd, PRIVATE_FILE_MODE);
  return fd;
}

/** Opens `path` for appending (created 0600 if missing); throws ELOOP for a symlink. */
export function openAppendPrivate(path: string): number {
  return narrowed(openSync(path, NO_FOLLOW.append, PRIVATE_FILE_MODE));
}

/** Narrows an existing regular file at `path` to 0600 without following a link; a missing file is fine. */
export function narrowExisting(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, NO_FOLLOW.read);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return;
    throw e;
  }
  try {
    if (fstatSync(fd).isFile()) narrowed(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates `path` 0600; throws if anything (a link included) is already there. */
export function createPrivate(path: string): number {
  return openSync(path, NO_FOLLOW.create, PRIVATE_FILE_MODE);
}

/**
 * Replaces `path` with `data` whole: written to a new temporary file in the same directory
 * (O_EXCL, so never a planted one) and renamed over it, which replaces a link rather than
 * writing through it, and a reader never sees half a file.
 */
export function replacePrivate(path: string, data: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = createPrivate(tmp);
  try {
    const buf = Buffer.from(data);
    for (let at = 0; at < buf.byteLength; ) at += writeSync(fd, buf, at, buf.byteLength - at);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes a new file 0600 (asynchronously, off the request path); throws if anything is already at `path`. */
export async function writeNewPrivate(path: string, data: string): Promise<void> {
  const handle = await open(path, NO_FOLLOW.create, PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}
