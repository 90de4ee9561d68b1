import type { SQL } from "bun";
import { connectStore, migrateStore } from "./pg-store.ts";
import type { UsageRecord, UsageSink } from "./record.ts";
import { requestRow } from "./request-row.ts";
import type { Spool } from "./spool.ts";

/** How often queued records are written: as for SQLite, never from the request path. */
export const PG_FLUSH_MS = 250;
/** Records per insert (two statements in one transaction: the requests, then their attempts). */
const BATCH = 500;
/** Records queued in memory beyond this go to the disk buffer at once (PostgreSQL slower than traffic). */
const MAX_QUEUED = 20_000;
/** After a failure, the next try waits this long, doubling up to the cap. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export interface PgSinkOptions {
  readonly url: string;
  /** The URL with its password masked, for log lines. */
  readonly shown: string;
  readonly spool: Spool;
  readonly log: { info(m: string): void; warn(m: string): void; error(m: string): void };
  /** Applied to every error message before it is logged (the URL's password among the secrets). */
  readonly redact: (text: string) => string;
  readonly now?: () => number;
  /** Tests replace the client. */
  readonly connect?: (url: string) => SQL;
}

/** Stores a batch: requests whose rid is already there are skipped with their attempts, so a replay never doubles a record. */
export async function insertRecords(sql: SQL, records: readonly UsageRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  return sql.begin(async (tx) => {
    const inserted = (await tx`INSERT INTO requests ${tx(records.map(requestRow))} ON CONFLICT (rid) DO NOTHING RETURNING id, rid`) as { id: string; rid: string }[];
    const ids = new Map(inserted.map((r) => [r.rid, r.id]));
    const attempts = records.flatMap((r) => {
      const id = ids.get(r.rid);
      if (id === undefined) return [];
      ids.delete(r.rid); // a rid twice in one batch: its attempts once
      return r.attempts.map((a, n) => ({ request_id: id, n, lane: a.lane, protocol: a.protocol, outcome: a.outcome, status: a.status, ms: a.ms, wait_ms: a.wait_ms, code: a.code ?? null }));
    });
    for (let i = 0; i < attempts.length; i += BATCH) await tx`INSERT INTO attempts ${tx(attempts.slice(i, i + BATCH))}`;
    return inserted.length;
  });
}

/**
 * Writes usage records to PostgreSQL in batches on a timer. The schema is migrated before the
 * first write. While PostgreSQL cannot be reached (or refuses the batch), records go to the
 * local disk buffer (spool.ts) and ccp tries again after a growing pause; once a try works,
 * the buffer is replayed before anything newer, then deleted. One log line when the store goes
 * away, one when it is back; records the full buffer could not keep are counted and logged.
 */
export class PgSink implements UsageSink {
  readonly #o: PgSinkOptions;
  readonly #sql: SQL;
  readonly #now: () => number;
  readonly #timer: ReturnType<typeof setInterval>;
  #queue: UsageRecord[] = [];
  /** The batch being inserted (back to the buffer if the insert fails). */
  #inflight: UsageRecord[] = [];
  #running: Promise<void> | undefined;
  #migrated = false;
  /** Since when the store has been failing (undefined while it works). */
  #downSince: number | undefined;
  #nextTry = 0;
  #retryMs = RETRY_MIN_MS;
  #droppedLogged = 0;
  #closed = false;

  constructor(o: PgSinkOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#sql = (o.connect ?? ((url) => connectStore(url)))(o.url);
    this.#timer = setInterval(() => void this.#tick(), PG_FLUSH_MS);
    this.#timer.unref();
    // Migrate (and replay what an earlier run left buffered) at start, not at the first request.
    void this.#tick();
  }

  /** The store answered the last try. */
  get up(): boolean {
    return this.#downSince === undefined && this.#migrated;
  }

  /** Records waiting in the disk buffer's bytes, and records the full buffer did not keep. */
  get buffer(): { readonly bytes: number; readonly dropped: number } {
    return { bytes: this.#o.spool.bytes, dropped: this.#o.spool.dropped };
  }

  write(record: UsageRecord): void {
    if (this.#closed) return;
    this.#queue.push(record);
    if (this.#queue.length > MAX_QUEUED) this.#spill(false);
  }

  /** One try now (even while waiting to retry); what cannot be stored goes to the disk buffer. */
  async flush(): Promise<void> {
    await this.#running;
    this.#nextTry = 0;
    await this.#tick();
  }

  /**
   * Flushes (one try, unless PostgreSQL is already known to be away: stopping must not wait for
   * it twice), then closes the connections; records still unstored stay in the disk buffer.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    if (this.#downSince === undefined) await this.flush();
    else await this.#running;
    this.#closed = true;
    this.#spill();
    await this.#sql.close({ timeout: 1 }).catch(() => {});
  }

  #tick(): Promise<void> {
    if (this.#running) return this.#running;
    this.#running = this.#work().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #work(): Promise<void> {
    if (this.#downSince !== undefined && this.#now() < this.#nextTry) {
      this.#spill();
      return;
    }
    if (this.#queue.length === 0 && this.#migrated && !this.#o.spool.pending) return;
    try {
      if (!this.#migrated) {
        const m = await migrateStore(this.#sql);
        this.#migrated = true;
        if (m.from !== m.to) this.#o.log.info(`usage store: PostgreSQL ${this.#o.shown} schema migrated from version ${m.from} to ${m.to}`);
      }
      const replayed = this.#o.spool.pending ? await this.#o.spool.replay((rs) => insertRecords(this.#sql, rs).then(() => {})) : 0;
      while (this.#queue.length > 0) {
        this.#inflight = this.#queue.splice(0, BATCH);
        await insertRecords(this.#sql, this.#inflight);
        this.#inflight = [];
      }
      this.#recovered(replayed);
    } catch (e) {
      this.#failed(e as Error);
    }
  }

  #recovered(replayed: number): void {
    if (this.#downSince !== undefined) {
      const s = Math.round((this.#now() - this.#downSince) / 1000);
      this.#o.log.info(`usage store: PostgreSQL ${this.#o.shown} reachable again after ${s} s; ${replayed} buffered records stored`);
    }
    this.#downSince = undefined;
    this.#retryMs = RETRY_MIN_MS;
  }

  #failed(e: Error): void {
    const first = this.#downSince === undefined;
    this.#downSince ??= this.#now();
    this.#nextTry = this.#now() + this.#retryMs;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
    this.#spill();
    if (first) {
      const why = this.#o.redact(e.message || String(e)).replace(/[\u0000-\u001f]+/g, " ");
      const bound = `at most ${Math.round(this.#o.spool.maxBytes / 1048576)} MiB`;
      this.#o.log.error(`usage store: PostgreSQL ${this.#o.shown} failed (${why}): usage records are buffered in ${this.#o.spool.path} (${bound}) and stored when it is back`);
    }
  }

  /** Moves the memory queue to the disk buffer; logs records it could not keep, once per thousand. */
  #spill(withInflight = true): void {
    // A batch being inserted stays with its insert unless that insert failed (withInflight).
    const batch = withInflight ? [...this.#inflight, ...this.#queue] : this.#queue;
    if (withInflight) this.#inflight = [];
    this.#queue = [];
    if (batch.length === 0) return;
    try {
      this.#o.spool.append(batch);
    } catch (e) {
      this.#o.spool.dropped += batch.length;
      this.#o.log.error(`usage store: cannot write the buffer ${this.#o.spool.path}: ${(e as Error).message}`);
    }
    const dropped = this.#o.spool.dropped;
    if (dropped > 0 && (this.#droppedLogged === 0 || dropped - this.#droppedLogged >= 1_000)) {
      this.#droppedLogged = dropped;
      this.#o.log.error(`usage store: the buffer ${this.#o.spool.path} is full; ${dropped} usage records were not kept for PostgreSQL (they are in usage.jsonl)`);
    }
  }
}
