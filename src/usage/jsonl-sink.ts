import { mkdirSync } from "node:fs";
import { appendFile } from "node:fs/promises";
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
    this.#writing = this.#writing
      .then(async () => {
        if (rotation) await rotateByRename(this.path, rotation, Buffer.byteLength(batch));
        await appendFile(this.path, batch, { mode: 0o600 });
      })
      .catch((e: Error) => this.onError(e));
  }
}
