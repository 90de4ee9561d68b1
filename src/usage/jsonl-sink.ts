import { closeSync, fstatSync, lstatSync, writeSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { dirname } from "node:path";
import { mkdirPrivate, openAppendPrivate } from "./private-file.ts";
import type { UsageRecord, UsageSink } from "./record.ts";
import { rotateByRename, type RotationPolicy } from "./rotation.ts";

/**
 * Appends one JSON line per record. Lines are written in a later turn of the event loop, never
 * from the request path: the lines that finish in the meantime go out together in one write, so
 * under load a write carries many lines and they never interleave. The write itself is
 * synchronous (a plain descriptor, a few KB copied into the page cache): the benchmark measured
 * the asynchronous one, a round trip through the thread pool per batch, at 8–9 % of ccp's CPU at
 * c=50. The file stays open between writes; it is reopened when it is no longer the file at
 * `path` (rotated, or deleted or moved by someone else), so a line never goes to a file nobody
 * can read. It is never opened through a symbolic link (private-file.ts): a link put at `path`
 * fails the write with ELOOP instead of appending to the file it points at.
 */
export class JsonlSink implements UsageSink {
  #pending: string[] = [];
  /** The current (or last) write loop; #busy while it runs. */
  #writing: Promise<void> = Promise.resolve();
  #busy = false;
  #scheduled = false;
  /** Bytes in the current file, known after the first rotation check. */
  #size: number | undefined;
  #file: { fd: number; ino: number } | undefined;

  constructor(
    readonly path: string,
    readonly onError: (e: Error) => void = () => {},
    /** Size-based rotation (usage.jsonl.1 ... .keep); none when undefined. */
    readonly rotation?: RotationPolicy,
  ) {
    mkdirPrivate(dirname(path));
  }

  write(record: UsageRecord): void {
    this.#pending.push(`${JSON.stringify(record)}\n`);
    if (this.#scheduled || this.#busy) return;
    this.#scheduled = true;
    setImmediate(() => this.#start());
  }

  /** Resolves once every line written before the call is in the file. */
  async flush(): Promise<void> {
    this.#start();
    await this.#writing; // a running loop also takes every line queued before it ends
  }

  /** Writes what is pending and closes the file (a sink used again reopens it). */
  async close(): Promise<void> {
    await this.flush();
    this.#closeFile();
  }

  #start(): void {
    this.#scheduled = false;
    if (this.#busy || this.#pending.length === 0) return;
    this.#busy = true;
    this.#writing = this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.join("");
        this.#pending = [];
        await this.#append(batch).catch((e: Error) => this.onError(e));
      }
    } finally {
      // In the same turn as the last look at #pending: a line written after it finds no writer
      // busy and schedules its own write.
      this.#busy = false;
    }
  }

  async #append(batch: string): Promise<void> {
    const bytes = Buffer.byteLength(batch);
    const rotation = this.rotation;
    if (rotation) {
      // The size is tracked here rather than asked of the disk on every batch (one stat at start).
      this.#size ??= await lstat(this.path).then(
        (st) => st.size,
        () => 0,
      );
      if (this.#size > 0 && this.#size + bytes > rotation.maxBytes) {
        this.#closeFile();
        if (await rotateByRename(this.path, rotation, bytes)) this.#size = 0;
      }
    }
    const fd = this.#open();
    const buf = Buffer.from(batch);
    for (let at = 0; at < buf.byteLength; ) at += writeSync(fd, buf, at, buf.byteLength - at);
    if (this.#size !== undefined) this.#size += bytes;
  }

  /** The open file, if it is still the one at `path`; otherwise `path` (re)opened for appending. */
  #open(): number {
    const current = this.#file;
    if (current) {
      // lstat: a link put where the file was is not the file, even when it points at it.
      if (lstatSync(this.path, { throwIfNoEntry: false })?.ino === current.ino) return current.fd;
      this.#closeFile();
      this.#size = undefined;
    }
    const fd = openAppendPrivate(this.path);
    this.#file = { fd, ino: fstatSync(fd).ino };
    return fd;
  }

  #closeFile(): void {
    const file = this.#file;
    this.#file = undefined;
    if (!file) return;
    try {
      closeSync(file.fd);
    } catch {
      // already closed: nothing to release
    }
  }
}
