import { copyFile, rename, rm, stat, truncate } from "node:fs/promises";

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

async function shift(file: string, keep: number): Promise<void> {
  await rm(`${file}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) await rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => {});
}

/**
 * Renames a file we write ourselves (we reopen it by path on the next append).
 * Returns true when it rotated.
 */
export async function rotateByRename(file: string, policy: RotationPolicy, incomingBytes = 0): Promise<boolean> {
  const size = await stat(file).then((s) => s.size, () => 0);
  if (size === 0 || size + incomingBytes <= policy.maxBytes) return false;
  await shift(file, policy.keep);
  await rename(file, `${file}.1`);
  return true;
}

/**
 * For a file another process holds open in append mode (the detached server's stdout):
 * renaming would leave it writing to the old inode, so copy then truncate (logrotate's
 * copytruncate). Lines written between the copy and the truncate can be lost; a log, not a ledger.
 */
export async function rotateByCopyTruncate(file: string, policy: RotationPolicy): Promise<boolean> {
  const size = await stat(file).then((s) => s.size, () => 0);
  if (size <= policy.maxBytes) return false;
  await shift(file, policy.keep);
  await copyFile(file, `${file}.1`);
  await truncate(file, 0);
  return true;
}
