import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";

/**
 * A file's text, only when it is a regular file: a FIFO, a device or a directory planted where a
 * config or CA file is expected would block the read for good (or never end), so it is refused.
 * Opened without blocking and checked on the open descriptor, so nothing can be swapped in between.
 */
export function readRegular(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: "ENOTREG" });
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}
