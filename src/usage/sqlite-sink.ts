import type { Database, Statement } from "bun:sqlite";
import type { UsageRecord, UsageSink } from "./record.ts";
import { openUsageDb } from "./sqlite-store.ts";

/**
 * How often queued records are written. bun:sqlite is synchronous, so records are never
 * written from the request path: write() only queues, and a timer writes the queue in one
 * transaction. A crash (kill -9) loses at most the records finished in the last
 * FLUSH_INTERVAL_MS (plus the few ms one transaction takes); everything committed before stays.
 */
export const FLUSH_INTERVAL_MS = 250;
/** A burst this large is written at the next turn of the event loop instead of waiting for the timer. */
const EARLY_FLUSH_RECORDS = 1_000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
const PRUNE_BATCH = 5_000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface SqliteSinkOptions {
  readonly retentionDays: number;
  readonly onError?: (e: Error) => void;
  /** Epoch ms (tests move time). */
  readonly now?: () => number;
}

type Row = Record<string, string | number | null>;

const requestRow = (r: UsageRecord): Row => ({
  rid: r.rid,
  ts: r.ts,
  ts_ms: Date.parse(r.ts) || 0,
  profile: r.profile,
  port: r.port,
  op: r.op,
  lane: r.lane,
  model: r.model,
  upstream_model: r.upstream_model,
  upstream: r.upstream,
  status: r.status,
  stream: r.stream ? 1 : 0,
  h2: r.h2 === null ? null : r.h2 ? 1 : 0,
  header_mode: r.header_mode,
  latency_ms: r.latency_ms,
  ttft_ms: r.ttft_ms,
  first_byte_ms: r.first_byte_ms,
  input_tokens: r.input_tokens,
  output_tokens: r.output_tokens,
  cache_read_input_tokens: r.cache_read_input_tokens,
  cache_creation_input_tokens: r.cache_creation_input_tokens,
  stop_reason: r.stop_reason,
  err_type: r.err_type,
  failure_class: r.failure_class,
  upstream_request_id: r.upstream_request_id,
  retries: r.retries ?? Math.max(0, r.attempts.length - 1),
  fallback_from: r.fallback_from ?? null,
  rerouted_from: r.rerouted_from ?? null,
  reroute_reason: r.reroute_reason ?? null,
  route: r.route ?? null,
  route_name: r.route_name ?? null,
  replay_of: r.replay_of ?? null,
  downgraded: r.downgraded ? 1 : 0,
  queue_ms: r.queue_ms ?? 0,
  estimated: r.estimated ? 1 : 0,
  capture: r.capture ?? null,
});

const REQUEST_COLUMNS = Object.keys(requestRow({ attempts: [] } as unknown as UsageRecord));

/** Writes usage records (and their attempts) to $CCP_HOME/ccp.db, batched on a timer. */
export class SqliteSink implements UsageSink {
  readonly #db: Database;
  readonly #insertRequest: Statement;
  readonly #insertAttempt: Statement;
  readonly #writeBatch: (records: readonly UsageRecord[]) => void;
  readonly #opts: SqliteSinkOptions;
  readonly #now: () => number;
  #queue: UsageRecord[] = [];
  #timer: ReturnType<typeof setInterval>;
  #pruneTimer: ReturnType<typeof setInterval>;
  #early = false;
  #closed = false;

  constructor(path: string, opts: SqliteSinkOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#db = openUsageDb(path, { create: true });
    this.#insertRequest = this.#db.prepare(`INSERT OR IGNORE INTO requests (${REQUEST_COLUMNS.join(", ")}) VALUES (${REQUEST_COLUMNS.map(() => "?").join(", ")})`);
    this.#insertAttempt = this.#db.prepare("INSERT INTO attempts (request_id, n, lane, protocol, outcome, status, ms, wait_ms, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    // Positional parameters, in REQUEST_COLUMNS order (the row's own key order): no named-parameter object per record.
    this.#writeBatch = this.#db.transaction((records: readonly UsageRecord[]) => {
      for (const r of records) {
        const res = this.#insertRequest.run(...Object.values(requestRow(r)));
        if (res.changes === 0) continue; // already stored (same rid)
        const id = Number(res.lastInsertRowid);
        for (let n = 0; n < r.attempts.length; n++) {
          const a = r.attempts[n]!;
          this.#insertAttempt.run(id, n, a.lane, a.protocol, a.outcome, a.status, a.ms, a.wait_ms, a.code ?? null);
        }
      }
    });
    this.#timer = setInterval(() => this.#flushNow(), FLUSH_INTERVAL_MS);
    this.#timer.unref();
    this.#pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.#pruneTimer.unref();
    setTimeout(() => void this.prune(), 1_000).unref();
  }

  write(record: UsageRecord): void {
    if (this.#closed) return;
    this.#queue.push(record);
    if (this.#queue.length >= EARLY_FLUSH_RECORDS && !this.#early) {
      this.#early = true;
      setImmediate(() => this.#flushNow());
    }
  }

  async flush(): Promise<void> {
    this.#flushNow();
  }

  /** Deletes records older than the retention age, a batch at a time so the event loop breathes. */
  async prune(): Promise<number> {
    if (this.#closed) return 0;
    const cutoff = this.#now() - this.#opts.retentionDays * DAY_MS;
    const del = this.#db.prepare(`DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE ts_ms < ? LIMIT ${PRUNE_BATCH})`);
    let total = 0;
    try {
      for (;;) {
        if (this.#closed) break;
        const n = del.run(cutoff).changes;
        total += n;
        if (n < PRUNE_BATCH) break;
        await new Promise((r) => setImmediate(r));
      }
    } catch (e) {
      this.#opts.onError?.(e as Error);
    }
    return total;
  }

  /** Writes what is queued and closes the database (shutdown). */
  close(): void {
    if (this.#closed) return;
    this.#flushNow();
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#pruneTimer);
    this.#db.close();
  }

  #flushNow(): void {
    this.#early = false;
    if (this.#closed || this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    try {
      this.#writeBatch(batch);
    } catch (e) {
      // The database is busy or broken: keep the records for the next tick, bounded.
      this.#queue = [...batch, ...this.#queue].slice(-50_000);
      this.#opts.onError?.(e as Error);
    }
  }
}
