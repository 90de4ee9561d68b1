import { closeSync, fstatSync, lstatSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { mkdirPrivate, NO_FOLLOW, openAppendPrivate } from "./private-file.ts";
import type { UsageRecord } from "./record.ts";

/** Bytes read from the spool at a time while replaying. */
const READ_CHUNK = 1 << 20;

/**
 * The local buffer of a store that is unreachable: usage records as JSON lines in
 * `<dir>/<name>.jsonl` (0600, never through a link), at most `maxBytes` together with a replay
 * in progress. A record that would pass the bound is not kept (counted in `dropped`): it is
 * still in usage.jsonl. Replaying first renames the file to `<name>.replay.jsonl`, so records
 * buffered meanwhile go to a new file, and deletes it only once every record in it was stored;
 * a replay cut short (the store went away again, ccp stopped) is replayed whole next time, which
 * the store's inserts (keyed by request id) make harmless.
 */
export class Spool {
  readonly path: string;
  readonly replayPath: string;
  /** Records not kept because the buffer was full, since start. */
  dropped = 0;
  #bytes: number;

  constructor(
    dir: string,
    name: string,
    readonly maxBytes: number,
  ) {
    mkdirPrivate(dir);
    this.path = join(dir, `${name}.jsonl`);
    this.replayPath = join(dir, `${name}.replay.jsonl`);
    this.#bytes = sizeOf(this.path) + sizeOf(this.replayPath);
  }

  /** Bytes waiting (both files). */
  get bytes(): number {
    return this.#bytes;
  }

  get pending(): boolean {
    return this.#bytes > 0;
  }

  /** Appends records, in one write, up to the bound; returns how many were kept. Synchronous: called off the request path. */
  append(records: readonly UsageRecord[]): number {
    let text = "";
    let size = 0;
    let kept = 0;
    for (const r of records) {
      const line = `${JSON.stringify(r)}\n`;
      const n = Buffer.byteLength(line);
      if (this.#bytes + size + n > this.maxBytes) {
        this.dropped += records.length - kept;
        break;
      }
      text += line;
      size += n;
      kept++;
    }
    if (text === "") return 0;
    const fd = openAppendPrivate(this.path);
    try {
      const buf = Buffer.from(text);
      for (let at = 0; at < buf.byteLength; ) at += writeSync(fd, buf, at, buf.byteLength - at);
      this.#bytes += buf.byteLength;
    } finally {
      closeSync(fd);
    }
    return kept;
  }

  /**
   * Hands every buffered record to `store`, `batch` at a time, in order; deletes the files once
   * all are stored. A failing `store` stops the replay (its error is thrown) and keeps the files.
   * Lines that do not parse (a write torn by a crash) are skipped. Returns the records replayed.
   */
  async replay(store: (records: UsageRecord[]) => Promise<void>, batch = 500): Promise<number> {
    let total = 0;
    for (;;) {
      if (sizeOf(this.replayPath) === 0) {
        if (sizeOf(this.path) === 0) break;
        renameSync(this.path, this.replayPath);
      }
      let records: UsageRecord[] = [];
      for (const r of readRecords(this.replayPath)) {
        records.push(r);
        if (records.length >= batch) {
          await store(records);
          total += records.length;
          records = [];
        }
      }
      if (records.length) await store(records);
      total += records.length;
      rmSync(this.replayPath, { force: true });
      this.#bytes = sizeOf(this.path);
    }
    this.#bytes = sizeOf(this.path) + sizeOf(this.replayPath);
    return total;
  }
}

function sizeOf(path: string): number {
  const st = lstatSync(path, { throwIfNoEntry: false });
  return st?.isFile() ? st.size : 0;
}

/** The records of a spool file, read a chunk at a time (the file may be large; lines are not). */
function* readRecords(path: string): Generator<UsageRecord> {
  const fd = openSync(path, NO_FOLLOW.read);
  try {
    if (!fstatSync(fd).isFile()) return;
    const buf = Buffer.alloc(READ_CHUNK);
    // A chunk may end inside a character: the decoder keeps its first bytes for the next one.
    const decoder = new StringDecoder("utf8");
    let rest = "";
    for (;;) {
      const n = readSync(fd, buf, 0, READ_CHUNK, null);
      if (n === 0) break;
      const lines = (rest + decoder.write(buf.subarray(0, n))).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const r = parse(line);
        if (r) yield r;
      }
    }
    const last = parse(rest);
    if (last) yield last;
  } finally {
    closeSync(fd);
  }
}

function parse(line: string): UsageRecord | undefined {
  if (!line.trim()) return undefined;
  try {
    const r = JSON.parse(line) as UsageRecord;
    return typeof r?.rid === "string" && Array.isArray(r.attempts) ? r : undefined;
  } catch {
    return undefined;
  }
}
