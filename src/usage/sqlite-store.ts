import { constants as sqlite, Database } from "bun:sqlite";
import { closeSync, constants, lstatSync, openSync } from "node:fs";
import { dirname, join } from "node:path";
import { mkdirPrivate, narrowed, narrowExisting, PRIVATE_FILE_MODE } from "./private-file.ts";

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
  `ALTER TABLE requests ADD COLUMN rerouted_from TEXT;
   ALTER TABLE requests ADD COLUMN reroute_reason TEXT;`,
  // Issue 22: who sent the request (pg-store.ts has the same step for PostgreSQL).
  `ALTER TABLE requests ADD COLUMN instance TEXT;
   ALTER TABLE requests ADD COLUMN client TEXT;
   ALTER TABLE requests ADD COLUMN session_id TEXT;
   ALTER TABLE requests ADD COLUMN agent_id TEXT;
   CREATE INDEX requests_client_ts ON requests (client, ts_ms);`,
  // Issue 23: which route matched, and the request a replay repeats (pg-store.ts has the same step).
  `ALTER TABLE requests ADD COLUMN route INTEGER;
   ALTER TABLE requests ADD COLUMN route_name TEXT;
   ALTER TABLE requests ADD COLUMN replay_of TEXT;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The files SQLite keeps for a database in WAL mode. */
const dbFiles = (path: string): string[] => [path, `${path}-wal`, `${path}-shm`];

/**
 * bun:sqlite opens by path, and SQLite follows a link at the database's name: a planted ccp.db
 * link would have it write pages into the file it points at. (Its -wal and -shm it opens with
 * O_NOFOLLOW, failing with a bare "unable to open database file".) Refused here with a message
 * that names the link; SQLITE_OPEN_NOFOLLOW below refuses the database's again at the open itself.
 */
function refuseLinks(path: string): void {
  for (const f of dbFiles(path)) {
    if (lstatSync(f, { throwIfNoEntry: false })?.isSymbolicLink()) throw new Error(`${f} is a symbolic link: ccp does not open its database through links (remove it: rm ${f})`);
  }
}

/**
 * The database file made 0600 before SQLite opens it: created so when missing, narrowed when an
 * older ccp left it 0644 (SQLite's default). That is what decides -wal and -shm too: SQLite
 * creates them with the database file's mode and fchmods them to it past the umask (os_unix.c,
 * findCreateFileMode and robust_open; measured: a 0666 database gets 0666 -wal/-shm under umask
 * 077), so a restrictive umask around the open would not help. Existing ones are narrowed too.
 * A reader narrows what it can: the files are the user's, and it must still read when it cannot.
 */
function privateDbFiles(path: string, o: { readonly create: boolean; readonly reader: boolean }): void {
  if (o.create) {
    mkdirPrivate(dirname(path));
    closeSync(narrowed(openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, PRIVATE_FILE_MODE)));
  }
  for (const f of dbFiles(path)) {
    try {
      narrowExisting(f);
    } catch (e) {
      if (!o.reader) throw e;
    }
  }
}

/**
 * Opens (creating when asked) the store: WAL so readers (`ccp usage --stats`) never block the
 * writer, synchronous=NORMAL (a committed transaction survives a process crash, kill -9
 * included; only power loss can cost the last ones), busy_timeout for concurrent instances.
 * Its files are 0600 and never links.
 */
export function openUsageDb(path: string, opts: { readonly create?: boolean; readonly readonly?: boolean } = {}): Database {
  refuseLinks(path);
  privateDbFiles(path, { create: opts.create ?? false, reader: opts.readonly ?? false });
  const flags = sqlite.SQLITE_OPEN_NOFOLLOW | (opts.readonly ? sqlite.SQLITE_OPEN_READONLY : sqlite.SQLITE_OPEN_READWRITE | (opts.create ? sqlite.SQLITE_OPEN_CREATE : 0));
  const db = new Database(path, flags);
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
