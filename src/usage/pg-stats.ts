import { connectStore } from "./pg-store.ts";
import type { StatInput } from "./stats.ts";
import type { RequestRow } from "./stats-source.ts";

/** The same row from PostgreSQL, whose BIGINT columns arrive as strings. */
type PgRequestRow = Omit<RequestRow, "id" | "ts_ms"> & { id: string; ts_ms: string };

/**
 * The fleet's records since `sinceMs` from the PostgreSQL store: every instance and profile that
 * writes there (team-wide figures), read as the same StatInput as SQLite's and usage.jsonl's.
 * BIGINT columns arrive as strings (Bun's default, exact for any value).
 */
export async function fromPostgres(url: string, sinceMs: number): Promise<StatInput[]> {
  const sql = connectStore(url, { connectTimeoutS: 10 });
  try {
    const rows = (await sql`
      SELECT id, ts_ms, lane, model, status, h2, ttft_ms, latency_ms, input_tokens, output_tokens,
             cache_read_input_tokens, cache_creation_input_tokens, failure_class, err_type, instance, client, session_id,
             route, route_name
        FROM requests WHERE ts_ms >= ${sinceMs} ORDER BY ts_ms, id`) as PgRequestRow[];
    const attempts = new Map<string, { lane: string; protocol: string }[]>();
    const aRows = (await sql`
      SELECT a.request_id AS id, a.lane, a.protocol FROM attempts a JOIN requests r ON r.id = a.request_id
       WHERE r.ts_ms >= ${sinceMs} ORDER BY a.request_id, a.n`) as { id: string; lane: string; protocol: string }[];
    for (const a of aRows) {
      let list = attempts.get(a.id);
      if (!list) attempts.set(a.id, (list = []));
      list.push({ lane: a.lane, protocol: a.protocol });
    }
    return rows.map(({ id, h2, ts_ms, ...r }) => ({ ...r, ts_ms: Number(ts_ms), h2: h2 === null ? null : h2 === 1, attempts: attempts.get(id) ?? [] }));
  } finally {
    await sql.close({ timeout: 1 });
  }
}
