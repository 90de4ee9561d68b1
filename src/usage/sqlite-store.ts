import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";

/** The usage store: one database per $CCP_HOME, shared by every profile and port. */
export const usageDbPath = (home: string): string => join(home, "ccp.db");

/**
 * Versioned migrations: entry i takes the schema from user_version i to i + 1. Never edit
 * a shipped entry; append a new one. Times are stored twice: ISO text as in usage.jsonl,
 * and epoch milliseconds for range queries and pruning.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE requests (
     id INTEGER PRIMARY KEY,
     rid TEXT NOT NULL UNIQUE,
     ts TEXT NOT NULL,
     ts_ms INTEGER NOT NULL,
     profile TEXT NOT NULL,
     port INTEGER NOT NULL,
     op TEXT NOT NULL,
     lane TEXT,
     model TEXT,
     upstream_model TEXT,
     upstream TEXT,
     status INTEGER NOT NULL,
     stream INTEGER NOT NULL,
     h2 INTEGER,
     header_mode TEXT,
     latency_ms INTEGER NOT NULL,
     ttft_ms INTEGER,
     first_byte_ms INTEGER,
     input_tokens INTEGER,
     output_tokens INTEGER,
     cache_read_input_tokens INTEGER,
     cache_creation_input_tokens INTEGER,
     stop_reason TEXT,
     err_type TEXT,
     failure_class TEXT,
     upstream_request_id TEXT,
     retries INTEGER NOT NULL DEFAULT 0,
     fallback_from TEXT,
     downgraded INTEGER NOT NULL DEFAULT 0,
     queue_ms INTEGER NOT NULL DEFAULT 0,
     estimated INTEGER NOT NULL DEFAULT 0,
     capture TEXT
   );
   CREATE INDEX requests_ts ON requests (ts_ms);
   CREATE INDEX requests_lane_ts ON requests (lane, ts_ms);
   CREATE INDEX requests_status_ts ON requests (status, ts_ms);
   CREATE TABLE attempts (
     request_id INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
     n INTEGER NOT NULL,
     lane TEXT NOT NULL,
     protocol TEXT NOT NULL,
     outcome TEXT NOT NULL,
     status INTEGER,
     ms INTEGER NOT NULL,
     wait_ms INTEGER NOT NULL,
     code TEXT,
     PRIMARY KEY (request_id, n)
   ) WITHOUT ROWID;
   CREATE INDEX attempts_lane_outcome ON attempts (lane, protocol, outcome);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens (creating when asked) the store: WAL so readers (`ccp usage --stats`) never block the
 * writer, synchronous=NORMAL (a committed transaction survives a process crash, kill -9
 * included; only power loss can cost the last ones), busy_timeout for concurrent instances.
 */
export function openUsageDb(path: string, opts: { readonly create?: boolean; readonly readonly?: boolean } = {}): Database {
  if (opts.create) mkdirSync(dirname(path), { recursive: true });
  const db = opts.readonly ? new Database(path, { readonly: true }) : new Database(path, { create: opts.create ?? false, readwrite: true });
  db.exec("PRAGMA busy_timeout = 5000");
  if (opts.readonly) return db;
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
  migrate(db);
  return db;
}

export function schemaVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

function migrate(db: Database): void {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION) throw new Error(`ccp.db has schema version ${from}, newer than this ccp knows (${SCHEMA_VERSION}): upgrade ccp`);
  for (let v = from; v < SCHEMA_VERSION; v++) {
    // BEGIN IMMEDIATE: two instances starting at once must not both apply the same step.
    db.exec("BEGIN IMMEDIATE");
    try {
      if (schemaVersion(db) === v) {
        db.exec(MIGRATIONS[v]!);
        db.exec(`PRAGMA user_version = ${v + 1}`);
      }
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }
}
