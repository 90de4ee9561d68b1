import { mkdirSync } from "node:fs";
import { appendFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { UsageRecord, UsageSink } from "./record.ts";
import { rotateByRename, type RotationPolicy } from "./rotation.ts";

/**
 * Appends one JSON line per record. Lines are batched and written by one chained
 * appendFile at a time, so they never interleave and the stream never waits on the disk.
 */
export class JsonlSink implements UsageSink {
  #pending: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #scheduled = false;
  /** Bytes in the current file, known after the first rotation check. */
  #size: number | undefined;

  constructor(
    readonly path: string,
    readonly onError: (e: Error) => void = () => {},
    /** Size-based rotation (usage.jsonl.1 ... .keep); none when undefined. */
    readonly rotation?: RotationPolicy,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  write(record: UsageRecord): void {
    this.#pending.push(JSON.stringify(record) + "\n");
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#drain());
  }

  flush(): Promise<void> {
    this.#drain();
    return this.#writing;
  }

  #drain(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const batch = this.#pending.join("");
    this.#pending = [];
    const rotation = this.rotation;
    const bytes = Buffer.byteLength(batch);
    this.#writing = this.#writing
      .then(async () => {
        if (rotation) {
          // The size is tracked here rather than asked of the disk on every batch (one stat at start).
          this.#size ??= await stat(this.path).then((st) => st.size, () => 0);
          if (this.#size > 0 && this.#size + bytes > rotation.maxBytes && (await rotateByRename(this.path, rotation, bytes))) this.#size = 0;
        }
        await appendFile(this.path, batch, { mode: 0o600 });
        if (this.#size !== undefined) this.#size += bytes;
      })
      .catch((e: Error) => this.onError(e));
  }
}
