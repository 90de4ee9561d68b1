import { parseSince, statusMatcher } from "../../ops/usage-filter.ts";
import { usageDbPath } from "../../usage/sqlite-store.ts";
import { fromPostgres } from "../../usage/pg-stats.ts";
import { redactor } from "../../usage/redact.ts";
import { loadStatInputs, type StatsSource } from "../../usage/stats-source.ts";
import { computeStats, GROUP_BY, isError, type GroupBy, type StatGroup, type StatInput } from "../../usage/stats.ts";
import { ExitError } from "../exit-error.ts";
import { table } from "../render.ts";
import { usageSource, type UsageSource } from "../usage-source.ts";

/** `ccp usage --stats`: the usage command's options that apply to a summary. */
export interface UsageStatsOptions {
  readonly port?: number | undefined;
  readonly since?: string | undefined;
  readonly by?: string | undefined;
  readonly json?: boolean | undefined;
  readonly profile?: string | undefined;
  readonly config?: string | undefined;
  readonly lane?: string | undefined;
  readonly status?: string | undefined;
  readonly errors?: boolean | undefined;
}

export interface UsageStatsResult {
  readonly source: "sqlite" | "jsonl" | "postgres";
  readonly paths: readonly string[];
  readonly since: string | null;
  readonly by: GroupBy | null;
  readonly groups: StatGroup[];
}

/**
 * The numbers of one instance's usage (`source`: the one `ccp usage` reads too), from SQLite
 * when persistence is on and the database exists, else usage.jsonl; or, when the config names a
 * PostgreSQL store, the whole fleet's from there.
 */
export async function usageStatsData(opts: UsageStatsOptions, source: UsageSource, now = Date.now()): Promise<UsageStatsResult> {
  // "proto" is the word this option had before "protocol" (docs/ARCHITECTURE.md, Vocabulary).
  const by = (opts.by === "proto" ? "protocol" : opts.by) as GroupBy | undefined;
  if (by !== undefined && !GROUP_BY.includes(by)) throw new ExitError(2, `--by ${opts.by}: expected one of ${GROUP_BY.join(", ")}`);
  const sinceMs = opts.since === undefined ? undefined : parseSince(opts.since, now);
  if (opts.since !== undefined && sinceMs === undefined) throw new ExitError(2, `--since "${opts.since}" is not a duration or a date`, "give one like 1h, 24h, 7d or 2025-06-01T12:00:00Z");
  const status = opts.status === undefined ? undefined : statusMatcher(opts.status);
  if (opts.status !== undefined && !status) throw new ExitError(2, `--status "${opts.status}" is not a status`, "give one like 502 or a class like 5xx");
  const inputs =
    source.persist && source.store?.url !== undefined
      ? await readPostgres(source.store.url, source.store.shown ?? "", sinceMs ?? 0, source.store.password)
      : readStatInputs({ home: source.home, profile: source.profile, persist: source.persist, keep: source.keep, sinceMs });
  const keep = (r: StatInput) => (opts.lane === undefined || r.lane === opts.lane) && (!status || status(r.status)) && (!opts.errors || isError(r));
  return { source: inputs.kind, paths: inputs.paths, since: opts.since ?? null, by: by ?? null, groups: computeStats(inputs.records.filter(keep), { by }) };
}

/** The fleet's records; an unreachable store is a clear error that shows no password. */
async function readPostgres(url: string, shown: string, sinceMs: number, password: string | undefined): Promise<Omit<StatsSource, "kind"> & { kind: "postgres" }> {
  try {
    return { kind: "postgres", paths: [shown], records: await fromPostgres(url, sinceMs) };
  } catch (e) {
    const why = redactor([password, url])((e as Error)?.message ?? String(e));
    throw new ExitError(
      1,
      `cannot read the usage database PostgreSQL ${shown}: ${why}`,
      "check that it runs and the URL ([store] url or $CCP_DATABASE_URL); CCP_PERSIST=0 ccp usage --stats reads this instance's usage.jsonl instead",
    );
  }
}

/** The records; a damaged database is a clear error, not a stack trace. */
function readStatInputs(o: Parameters<typeof loadStatInputs>[0]): ReturnType<typeof loadStatInputs> {
  try {
    return loadStatInputs(o);
  } catch (e) {
    if ((e as Error)?.name !== "SQLiteError") throw e;
    throw new ExitError(
      1,
      `cannot read the usage database ${usageDbPath(o.home)}: ${(e as Error).message}`,
      "move the damaged file aside (ccp creates a new one at start), or read usage.jsonl instead: CCP_PERSIST=0 ccp usage --stats",
    );
  }
}

const ms = (v: number | null) => (v === null ? "-" : String(v));
const n = (v: number) => v.toLocaleString("en-US");

export function renderStats(r: UsageStatsResult): string {
  const store = { sqlite: "SQLite", jsonl: "usage.jsonl", postgres: "PostgreSQL (every instance)" }[r.source];
  const head = `${store}: ${r.paths.join(", ") || "(no usage recorded yet)"}${r.since ? ` · since ${r.since}` : ""}`;
  if (r.groups.length === 0) return `${head}\nno requests`;
  const rows = r.groups.map((g) => [
    g.key,
    n(g.requests),
    n(g.errors),
    `${(g.error_rate * 100).toFixed(1)}%`,
    `${ms(g.ttft_ms.p50)} / ${ms(g.ttft_ms.p95)} / ${ms(g.ttft_ms.p99)}`,
    `${ms(g.duration_ms.p50)} / ${ms(g.duration_ms.p95)} / ${ms(g.duration_ms.p99)}`,
    n(g.retries),
    n(g.fallbacks),
    n(g.input_tokens),
    n(g.output_tokens),
    n(g.cache_read_input_tokens),
    n(g.cache_creation_input_tokens),
  ]);
  const header = [r.by ?? "all", "requests", "errors", "error%", "ttft ms p50/p95/p99", "duration ms p50/p95/p99", "retries", "fallbacks", "input", "output", "cache read", "cache write"];
  return `${head}\n${table(header, rows)}`;
}

export async function usageStats(opts: UsageStatsOptions): Promise<void> {
  const result = await usageStatsData(opts, await usageSource(opts));
  console.log(opts.json ? JSON.stringify(result, null, 2) : renderStats(result));
}
