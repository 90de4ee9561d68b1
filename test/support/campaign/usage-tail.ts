import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";

/** One usage.jsonl line, as the campaign reads it. */
export type UsageLine = Record<string, unknown> & { attempts: { outcome: string; protocol: string; lane: string }[] };

/** usage.jsonl read as it grows, lines kept by rid. */
export class UsageTail {
  #offset = 0;
  #rest = "";
  readonly #byRid = new Map<string, UsageLine>();
  constructor(readonly file: string) {}

  #poll(): void {
    if (!existsSync(this.file)) return;
    const fd = openSync(this.file, "r");
    try {
      const size = fstatSync(fd).size;
      if (size <= this.#offset) return;
      const buf = Buffer.alloc(size - this.#offset);
      readSync(fd, buf, 0, buf.length, this.#offset);
      this.#offset = size;
      const text = this.#rest + buf.toString("utf8");
      const cut = text.lastIndexOf("\n") + 1;
      this.#rest = text.slice(cut);
      for (const l of text.slice(0, cut).split("\n").filter(Boolean)) {
        const line = JSON.parse(l) as UsageLine;
        this.#byRid.set(String(line.rid), line);
      }
    } finally {
      closeSync(fd);
    }
  }

  async line(rid: string, waitMs = 5_000): Promise<UsageLine | undefined> {
    const until = Date.now() + waitMs;
    for (;;) {
      this.#poll();
      const line = this.#byRid.get(rid);
      if (line || Date.now() > until) return line;
      await Bun.sleep(25);
    }
  }
}
