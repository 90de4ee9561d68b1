import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import type { UsageLine } from "./usage-filter.ts";

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function parseLine(line: string): UsageLine | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as UsageLine) : undefined;
  } catch {
    return undefined; // a torn or foreign line: skip it
  }
}

/** Complete lines appended since `offset`, and the offset after the last complete one. */
export function readSince(path: string, offset: number): { readonly records: UsageLine[]; readonly raw: string[]; readonly offset: number } {
  const size = fileSize(path);
  if (size < offset) offset = 0; // truncated or replaced: start again
  if (size === offset) return { records: [], raw: [], offset };
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    const text = buf.subarray(0, n).toString("utf8");
    const end = text.lastIndexOf("\n");
    if (end < 0) return { records: [], raw: [], offset };
    const raw = text.slice(0, end).split("\n").filter(Boolean);
    const records: UsageLine[] = [];
    const kept: string[] = [];
    for (const line of raw) {
      const r = parseLine(line);
      if (r) {
        records.push(r);
        kept.push(line);
      }
    }
    return { records, raw: kept, offset: offset + Buffer.byteLength(text.slice(0, end + 1)) };
  } finally {
    closeSync(fd);
  }
}

/**
 * The last `n` lines that pass `keep`, oldest first, read backwards in chunks so a
 * large log costs only what is shown.
 */
export function tailLines(path: string, n: number, keep: (r: UsageLine) => boolean, end = fileSize(path)): { record: UsageLine; raw: string }[] {
  if (!existsSync(path) || n <= 0) return [];
  const fd = openSync(path, "r");
  const found: { record: UsageLine; raw: string }[] = [];
  try {
    let pos = Math.min(end, fileSize(path));
    let carry = Buffer.alloc(0);
    const CHUNK = 64 * 1024;
    while (pos > 0 && found.length < n) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, pos);
      let data = Buffer.concat([buf, carry]);
      // Everything before the first newline may be part of an earlier line: keep it for the next chunk.
      const first = pos > 0 ? data.indexOf(0x0a) : -1;
      if (pos > 0 && first < 0) {
        carry = data; // one line longer than a chunk: keep reading back
        continue;
      }
      carry = first >= 0 ? data.subarray(0, first) : Buffer.alloc(0);
      data = first >= 0 ? data.subarray(first + 1) : data;
      const lines = data.toString("utf8").split("\n").filter(Boolean);
      for (let i = lines.length - 1; i >= 0 && found.length < n; i--) {
        const record = parseLine(lines[i]!);
        if (record && keep(record)) found.push({ record, raw: lines[i]! });
      }
    }
  } finally {
    closeSync(fd);
  }
  return found.reverse();
}

/**
 * tailLines over the log and, when it holds fewer than `n` matching lines, its rotated
 * predecessors (`usage.jsonl.1`, `.2`, ... newest first), so a rotation never shortens a tail.
 * `end` bounds what is read of the log itself: --follow reads on from there, so no line is missed or shown twice.
 */
export function tailAcrossRotations(path: string, n: number, keep: (r: UsageLine) => boolean, end?: number): { record: UsageLine; raw: string }[] {
  let found = tailLines(path, n, keep, end);
  for (let i = 1; found.length < n && existsSync(`${path}.${i}`); i++) {
    found = [...tailLines(`${path}.${i}`, n - found.length, keep), ...found];
  }
  return found;
}
