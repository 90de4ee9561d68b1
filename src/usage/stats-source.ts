import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { rotatedNames } from "./rotation.ts";
import { openUsageDb, usageDbPath } from "./sqlite-store.ts";
import type { StatInput } from "./stats.ts";

export interface StatsSource {
  readonly kind: "sqlite" | "jsonl";
  /** The database, or every usage.jsonl file scanned. */
  readonly paths: readonly string[];
  readonly records: StatInput[];
}

export interface SourceOptions {
  readonly home: string;
  readonly profile: string;
  readonly persist: boolean;
  /** Rotated usage.jsonl files to scan besides the current one. */
  readonly keep: number;
  /** Epoch ms; older records are not read. */
  readonly sinceMs?: number | undefined;
}

export const usageJsonlPath = (home: string, profile: string): string => join(home, "logs", profile, "usage.jsonl");

/** SQLite when persistence is on and the database exists, else usage.jsonl (and its rotated files). */
export function loadStatInputs(o: SourceOptions): StatsSource {
  const db = usageDbPath(o.home);
  if (o.persist && existsSync(db)) return { kind: "sqlite", paths: [db], records: fromSqlite(db, o.profile, o.sinceMs ?? 0) };
  const files = rotatedNames(usageJsonlPath(o.home, o.profile), o.keep)
    .filter((f) => existsSync(f))
    .reverse();
  return { kind: "jsonl", paths: files, records: files.flatMap((f) => fromJsonl(f, o.sinceMs ?? 0)) };
}

/** A `requests` row as --stats reads it: a StatInput's fields, h2 as stored (0/1), and the row id its attempts hang on. */
export type RequestRow = Omit<StatInput, "h2" | "attempts"> & { id: number; h2: number | null };

/** Columns later migrations added (issues 22 and 23). */
const LATER_COLUMNS = ["instance", "client", "session_id", "route", "route_name"] as const;

/** The records of one profile (the database holds every profile of this $CCP_HOME). */
export function fromSqlite(path: string, profile: string, sinceMs: number): StatInput[] {
  const db = openUsageDb(path, { readonly: true });
  try {
    // A database a running older ccp has not migrated yet lacks the later columns: read them as null.
    const columns = new Set((db.query("SELECT name FROM pragma_table_info('requests')").all() as { name: string }[]).map((c) => c.name));
    const later = LATER_COLUMNS.map((c) => (columns.has(c) ? c : `NULL AS ${c}`)).join(", ");
    const rows = db
      .query(
        `SELECT id, ts_ms, lane, model, status, h2, ttft_ms, latency_ms, input_tokens, output_tokens,
                cache_read_input_tokens, cache_creation_input_tokens, failure_class, err_type,
                ${later}
           FROM requests WHERE ts_ms >= ? AND profile = ? ORDER BY ts_ms, id`,
      )
      .all(sinceMs, profile) as RequestRow[];
    const attempts = new Map<number, { lane: string; protocol: string }[]>();
    const aRows = db
      .query(
        `SELECT a.request_id AS id, a.lane, a.protocol FROM attempts a JOIN requests r ON r.id = a.request_id
          WHERE r.ts_ms >= ? AND r.profile = ? ORDER BY a.request_id, a.n`,
      )
      .all(sinceMs, profile) as { id: number; lane: string; protocol: string }[];
    for (const a of aRows) {
      let list = attempts.get(a.id);
      if (!list) attempts.set(a.id, (list = []));
      list.push({ lane: a.lane, protocol: a.protocol });
    }
    return rows.map(({ id, h2, ...r }) => ({ ...r, h2: h2 === null ? null : h2 === 1, attempts: attempts.get(id) ?? [] }));
  } finally {
    db.close();
  }
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** Lines that do not parse (a torn last line after a crash) are skipped. */
export function fromJsonl(path: string, sinceMs: number): StatInput[] {
  const out: StatInput[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const ts_ms = Date.parse(String(r.ts)) || 0;
    if (ts_ms < sinceMs) continue;
    const attempts = Array.isArray(r.attempts) ? (r.attempts as { lane?: unknown; protocol?: unknown }[]) : [];
    out.push({
      ts_ms,
      lane: str(r.lane),
      model: str(r.model),
      status: num(r.status) ?? 0,
      h2: typeof r.h2 === "boolean" ? r.h2 : null,
      ttft_ms: num(r.ttft_ms),
      latency_ms: num(r.latency_ms) ?? 0,
      input_tokens: num(r.input_tokens),
      output_tokens: num(r.output_tokens),
      cache_read_input_tokens: num(r.cache_read_input_tokens),
      cache_creation_input_tokens: num(r.cache_creation_input_tokens),
      failure_class: str(r.failure_class),
      err_type: str(r.err_type),
      instance: str(r.instance),
      client: str(r.client),
      session_id: str(r.session_id),
      route: num(r.route),
      route_name: str(r.route_name),
      attempts: attempts.map((a) => ({ lane: String(a.lane), protocol: String(a.protocol) })),
    });
  }
  return out;
}
