import { lstat, open, rename, rm, type FileHandle } from "node:fs/promises";
import { NO_FOLLOW, PRIVATE_FILE_MODE } from "./private-file.ts";

/** Size-based rotation: `file` → `file.1` → ... → `file.<keep>`; older ones are deleted. */
export interface RotationPolicy {
  readonly maxBytes: number;
  readonly keep: number;
}

export const rotationPolicy = (r: { readonly max_mb: number; readonly keep: number }): RotationPolicy => ({
  maxBytes: Math.max(1, Math.round(r.max_mb * 1024 * 1024)),
  keep: r.keep,
});

/** `file`, then its rotated copies newest first: what a reader scans to see everything kept. */
export const rotatedNames = (file: string, keep: number): string[] => [file, ...Array.from({ length: keep }, (_, i) => `${file}.${i + 1}`)];

/**
 * rm and rename(2) act on names: a link among the rotated files is moved or deleted itself,
 * never the file it points at.
 */
async function shift(file: string, keep: number): Promise<void> {
  await rm(`${file}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) await rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => {});
}

/** The size of the file at `file` itself (lstat: a link's target is not ours to measure), 0 when missing. */
const ownSize = (file: string): Promise<number> =>
  lstat(file).then(
    (s) => (s.isFile() ? s.size : 0),
    () => 0,
  );

/**
 * Renames a file we write ourselves (we reopen it by path on the next append).
 * Returns true when it rotated.
 */
export async function rotateByRename(file: string, policy: RotationPolicy, incomingBytes = 0): Promise<boolean> {
  const size = await ownSize(file);
  if (size === 0 || size + incomingBytes <= policy.maxBytes) return false;
  await shift(file, policy.keep);
  await rename(file, `${file}.1`);
  return true;
}

const COPY_CHUNK = 1024 * 1024;

/**
 * For a file another process holds open in append mode (the detached server's stdout):
 * renaming would leave it writing to the old inode, so copy then truncate (logrotate's
 * copytruncate). Lines written between the copy and the truncate can be lost; a log, not a ledger.
 * Both ends are opened without following links (the copy is a new file, O_EXCL) and the
 * truncation goes through the descriptor, so a link planted at either name cuts nothing.
 */
export async function rotateByCopyTruncate(file: string, policy: RotationPolicy): Promise<boolean> {
  let src: FileHandle;
  try {
    src = await open(file, NO_FOLLOW.readWrite);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return false;
    throw e;
  }
  try {
    const st = await src.stat();
    if (!st.isFile() || st.size <= policy.maxBytes) return false;
    await shift(file, policy.keep);
    const dst = await open(`${file}.1`, NO_FOLLOW.create, PRIVATE_FILE_MODE);
    try {
      const buf = Buffer.allocUnsafe(COPY_CHUNK);
      for (let at = 0; ; ) {
        const { bytesRead } = await src.read(buf, 0, COPY_CHUNK, at);
        if (bytesRead === 0) break;
        for (let off = 0; off < bytesRead; ) off += (await dst.write(buf, off, bytesRead - off)).bytesWritten;
        at += bytesRead;
      }
    } finally {
      await dst.close();
    }
    await src.truncate(0);
    return true;
  } finally {
    await src.close();
  }
}
