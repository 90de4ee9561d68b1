import { lstatSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Capture, CaptureSession } from "./capture-hook.ts";
import { mkdirPrivate, narrowExisting, writeNewPrivate } from "./private-file.ts";
import type { UsageRecord, UsageSink } from "./record.ts";
import { redactHeaders, redactor, secretsInHeaders } from "./redact.ts";
import { quote } from "../upstream/quote.ts";

/** Each of the request body and the response keeps at most this much (head and tail), so a file stays under ~2 MiB. */
export const MAX_PART_BYTES = 1024 * 1024;

export type CaptureMode = "errors" | "all";

export interface CaptureOptions {
  readonly dir: string;
  readonly mode: CaptureMode;
  /** Files kept; the oldest are deleted beyond this. */
  readonly maxFiles: number;
  /** Secrets the process knows (lane keys): never written. */
  readonly secrets: readonly (string | undefined)[];
  readonly onError?: (e: Error) => void;
}

interface Pending {
  readonly rid: string;
  readonly headers: [string, string][];
  readonly body: Uint8Array | undefined;
  /** The response's first bytes (HALF + MARGIN of them), and its latest ones. */
  readonly head: Uint8Array[];
  readonly tail: Uint8Array[];
  /** Bytes received, held in head and in tail, and left out between them. */
  bytes: number;
  headBytes: number;
  tailBytes: number;
  dropped: number;
}

const HALF = MAX_PART_BYTES / 2;
/** Each end is kept this much longer than written, so a secret the cut crosses is still whole for the redactor. */
const MARGIN = 4096;

/** What a kept capture file holds. */
export interface CaptureFile {
  readonly rid: string;
  readonly captured_at: string;
  readonly record: UsageRecord;
  readonly request: { readonly headers: Record<string, string>; readonly body: string | null; readonly body_bytes: number; readonly truncated: boolean };
  readonly response: { readonly body: string; readonly bytes: number; readonly truncated: boolean };
}

const dec = (b: Uint8Array) => new TextDecoder("utf-8", { fatal: false }).decode(b);

/**
 * The text of a body, redacted, its middle left out past MAX_PART_BYTES. Each kept end is
 * redacted before it is cut, and cut between words (quote()), so a secret a cut crosses is
 * neither kept in part nor missed by the redactor. The first and last halves are kept: the start
 * of a request and its latest turn. `head` and `tail` are its ends (HALF + MARGIN
 * bytes each, or all of it when it is short and whole).
 */
function bounded(head: Uint8Array, tail: Uint8Array | undefined, total: number, redact: (text: string) => string): { text: string; truncated: boolean } {
  if (tail === undefined && total <= MAX_PART_BYTES) return { text: redact(dec(head)), truncated: false };
  const start = quote(redact(dec(head.subarray(0, HALF + MARGIN))), HALF);
  const last = tail ?? head.subarray(Math.max(0, head.byteLength - HALF - MARGIN));
  const end = [...quote([...redact(dec(last))].reverse().join(""), HALF)].reverse().join("");
  return { text: `${start}\n[... about ${Math.max(0, total - MAX_PART_BYTES)} bytes left out ...]\n${end}`, truncated: true };
}

/**
 * Diagnostics capture: request body and raw upstream response per request, redacted,
 * one file per rid. Per chunk it only keeps a reference (bounded); redaction and the
 * file write happen after the request is over, off its path.
 *
 * It is also a UsageSink and must be the first one: its write() marks the record with the
 * capture path before the other sinks serialise it, so usage.jsonl and SQLite carry it.
 */
export class FileCapture implements Capture, UsageSink {
  readonly #pending = new Map<string, Pending>();
  /** Kept files, oldest first. */
  readonly #files: string[];
  #writing: Promise<void> = Promise.resolve();

  constructor(readonly opts: CaptureOptions) {
    mkdirPrivate(opts.dir);
    this.#files = readdirSync(opts.dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => {
        const path = join(opts.dir, f);
        const st = lstatSync(path);
        // One an older ccp left wider than 0600 is narrowed; anything else there is only ever deleted.
        if (st.isFile()) narrowExisting(path);
        return { f: path, t: st.mtimeMs };
      })
      .sort((a, b) => a.t - b.t)
      .map((x) => x.f);
  }

  pathFor(rid: string): string {
    return join(this.opts.dir, `${rid.replace(/[^A-Za-z0-9_-]/g, "_")}.json`);
  }

  keeps(r: UsageRecord): boolean {
    return this.opts.mode === "all" || r.status >= 400 || r.failure_class !== null || r.err_type !== null;
  }

  begin(rid: string, requestHeaders: Headers, body: Uint8Array | undefined): CaptureSession {
    const p: Pending = { rid, headers: [...requestHeaders.entries()], body, head: [], tail: [], bytes: 0, headBytes: 0, tailBytes: 0, dropped: 0 };
    this.#pending.set(rid, p);
    return {
      response: (chunk) => {
        // Memory stays bounded: the head fills first, then the tail keeps the latest bytes (references only).
        p.bytes += chunk.byteLength;
        if (p.headBytes < HALF + MARGIN) {
          p.head.push(chunk);
          p.headBytes += chunk.byteLength;
          return;
        }
        p.tail.push(chunk);
        p.tailBytes += chunk.byteLength;
        while (p.tail.length > 1 && p.tailBytes - p.tail[0]!.byteLength >= HALF + MARGIN) {
          const old = p.tail.shift()!;
          p.tailBytes -= old.byteLength;
          p.dropped += old.byteLength;
        }
      },
      end: (record) => this.#end(p, record),
    };
  }

  write(record: UsageRecord): void {
    if (this.#pending.has(record.rid) && this.keeps(record)) record.capture = this.pathFor(record.rid);
  }

  flush(): Promise<void> {
    return this.#writing;
  }

  #end(p: Pending, record: UsageRecord): void {
    this.#pending.delete(p.rid);
    if (record.capture === null && !this.keeps(record)) return;
    const file = record.capture ?? this.pathFor(p.rid);
    this.#writing = this.#writing
      .then(() => new Promise((r) => setImmediate(r)))
      // A new file per request (its rid): nothing already at that name, a link least of all, is written through.
      .then(() => writeNewPrivate(file, this.#render(p, record)))
      .then(() => this.#keepBound(file))
      .catch((e: Error) => this.opts.onError?.(e));
  }

  #render(p: Pending, record: UsageRecord): string {
    const redact = redactor([...this.opts.secrets, ...secretsInHeaders(p.headers)]);
    const req = p.body ? bounded(p.body, undefined, p.body.byteLength, redact) : undefined;
    const whole = p.dropped === 0;
    const res = whole ? bounded(Buffer.concat([...p.head, ...p.tail]), undefined, p.bytes, redact) : bounded(Buffer.concat(p.head), Buffer.concat(p.tail), p.bytes, redact);
    const out: CaptureFile = {
      rid: p.rid,
      captured_at: new Date().toISOString(),
      record,
      request: { headers: redactHeaders(p.headers), body: req ? req.text : null, body_bytes: p.body?.byteLength ?? 0, truncated: req?.truncated ?? false },
      response: { body: res.text, bytes: p.bytes, truncated: res.truncated },
    };
    // The record itself is redacted too: it holds no credential by design, but belt and braces.
    return `${redact(JSON.stringify(out, null, 1))}\n`;
  }

  async #keepBound(file: string): Promise<void> {
    if (!this.#files.includes(file)) this.#files.push(file);
    while (this.#files.length > this.opts.maxFiles) await rm(this.#files.shift()!, { force: true });
  }
}
