import { SQL } from "bun";

/**
 * The fleet's usage store in PostgreSQL (Bun's built-in client): the same tables and columns as
 * the SQLite store (sqlite-store.ts), step for step. Entry i takes the schema from version i to
 * i + 1, exactly as MIGRATIONS there does (SQLite's types and PostgreSQL's differ: INTEGER
 * PRIMARY KEY is BIGSERIAL here, epoch milliseconds need BIGINT); never edit a shipped entry,
 * append one to both lists.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE requests (
     id BIGSERIAL PRIMARY KEY,
     rid TEXT NOT NULL UNIQUE,
     ts TEXT NOT NULL,
     ts_ms BIGINT NOT NULL,
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
     request_id BIGINT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
     n INTEGER NOT NULL,
     lane TEXT NOT NULL,
     protocol TEXT NOT NULL,
     outcome TEXT NOT NULL,
     status INTEGER,
     ms INTEGER NOT NULL,
     wait_ms INTEGER NOT NULL,
     code TEXT,
     PRIMARY KEY (request_id, n)
   );
   CREATE INDEX attempts_lane_outcome ON attempts (lane, protocol, outcome);`,
  `ALTER TABLE requests ADD COLUMN rerouted_from TEXT;
   ALTER TABLE requests ADD COLUMN reroute_reason TEXT;`,
  // Issue 22: who sent the request (sqlite-store.ts has the same step).
  `ALTER TABLE requests ADD COLUMN instance TEXT;
   ALTER TABLE requests ADD COLUMN client TEXT;
   ALTER TABLE requests ADD COLUMN session_id TEXT;
   ALTER TABLE requests ADD COLUMN agent_id TEXT;
   CREATE INDEX requests_client_ts ON requests (client, ts_ms);`,
  // Issue 23: which route matched, and the request a replay repeats.
  `ALTER TABLE requests ADD COLUMN route INTEGER;
   ALTER TABLE requests ADD COLUMN route_name TEXT;
   ALTER TABLE requests ADD COLUMN replay_of TEXT;`,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/**
 * Every ccp migrating this database takes this transaction-level advisory lock first (an
 * arbitrary constant, "ccp" in ASCII), so instances starting at once apply each step once: the
 * second waits, then finds the schema current.
 */
const MIGRATION_LOCK = 0x636370;

/** Which versions are applied: one row per step, written in the step's own transaction. */
const VERSIONS_TABLE = `CREATE TABLE IF NOT EXISTS ccp_schema_versions (
  version INTEGER PRIMARY KEY,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

/** A connection pool to the store. The URL's own settings only: options win over the environment's PG* variables in Bun's client. */
export function connectStore(url: string, o: { readonly connectTimeoutS?: number; readonly onclose?: (e: Error | null) => void } = {}): SQL {
  const u = new URL(url);
  return new SQL({
    url,
    // Bun lets $PGDATABASE win over the URL's database: the URL says which one.
    ...(u.pathname.length > 1 ? { database: decodeURIComponent(u.pathname.slice(1)) } : {}),
    max: 4,
    idleTimeout: 60,
    connectionTimeout: o.connectTimeoutS ?? 5,
    ...(o.onclose ? { onclose: o.onclose } : {}),
  });
}

export class NewerSchemaError extends Error {
  override readonly name = "NewerSchemaError";
}

/**
 * Brings the schema to PG_SCHEMA_VERSION in one transaction under the advisory lock (PostgreSQL's
 * DDL is transactional: a failed step leaves the database as it was). Returns the version found.
 */
export async function migrateStore(sql: SQL): Promise<{ from: number; to: number }> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx.unsafe(VERSIONS_TABLE);
    const [row] = await tx`SELECT COALESCE(MAX(version), 0)::int AS v FROM ccp_schema_versions`;
    const from = (row as { v: number }).v;
    if (from > PG_SCHEMA_VERSION) throw new NewerSchemaError(`the usage database has schema version ${from}, newer than this ccp knows (${PG_SCHEMA_VERSION}): upgrade ccp`);
    for (let v = from; v < PG_SCHEMA_VERSION; v++) {
      await tx.unsafe(PG_MIGRATIONS[v]!);
      await tx`INSERT INTO ccp_schema_versions (version) VALUES (${v + 1})`;
    }
    return { from, to: PG_SCHEMA_VERSION };
  });
}
