import { ascending, percentile } from "./percentile.ts";
import { answeredOver, isError } from "./outcome.ts";

/** The fields of a usage record that statistics read (from usage.jsonl or SQLite alike). */
export interface StatInput {
  readonly ts_ms: number;
  readonly lane: string | null;
  readonly model: string | null;
  readonly status: number;
  readonly h2: boolean | null;
  readonly ttft_ms: number | null;
  readonly latency_ms: number;
  readonly input_tokens: number | null;
  readonly output_tokens: number | null;
  readonly cache_read_input_tokens: number | null;
  readonly cache_creation_input_tokens: number | null;
  readonly failure_class: string | null;
  readonly err_type: string | null;
  /** Who sent it (null in records older than these fields, and client null without a key). */
  readonly instance: string | null;
  readonly client: string | null;
  readonly session_id: string | null;
  /** The matched route's index and name (null: picked by name, or none matched). */
  readonly route: number | null;
  readonly route_name: string | null;
  readonly attempts: readonly { readonly lane: string; readonly protocol: string }[];
}

export const GROUP_BY = ["lane", "model", "status", "protocol", "route", "client", "session", "instance"] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface Percentiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface StatGroup {
  /** The group's value ("all" without --by; "-" for an unknown lane/model/protocol/session/instance; client "none" for requests without a key). */
  readonly key: string;
  readonly requests: number;
  readonly errors: number;
  /** errors / requests, 0..1. */
  readonly error_rate: number;
  readonly ttft_ms: Percentiles;
  readonly duration_ms: Percentiles;
  /** Attempts beyond the first, summed. */
  readonly retries: number;
  /** Moves from one lane to another between attempts, summed. */
  readonly fallbacks: number;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_read_input_tokens: number;
  readonly cache_creation_input_tokens: number;
}

export { isError };

/** The protocol that answered (usage/outcome.ts). */
export const protoOf = (r: Pick<StatInput, "attempts" | "h2">): string => answeredOver(r);

/** A route as `--by route` shows it: its index, and its name after a colon ("2:long-context"); "-" for none (a lane picked by name). */
export const routeKey = (r: Pick<StatInput, "route" | "route_name">): string => (r.route === null ? "-" : r.route_name ? `${r.route}:${r.route_name}` : String(r.route));

function keyOf(r: StatInput, by: GroupBy | undefined): string {
  switch (by) {
    case undefined:
      return "all";
    case "lane":
      return r.lane ?? "-";
    case "model":
      return r.model ?? "-";
    case "status":
      return String(r.status);
    case "protocol":
      return protoOf(r);
    case "client":
      return r.client ?? "none";
    case "session":
      return r.session_id ?? "-";
    case "instance":
      return r.instance ?? "-";
    case "route":
      return routeKey(r);
  }
}

const pcts = (values: number[]): Percentiles => {
  const s = ascending(values);
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99) };
};

function summarise(key: string, rs: readonly StatInput[]): StatGroup {
  const errors = rs.filter(isError).length;
  const sum = (f: (r: StatInput) => number | null) => rs.reduce((n, r) => n + (f(r) ?? 0), 0);
  return {
    key,
    requests: rs.length,
    errors,
    error_rate: rs.length ? errors / rs.length : 0,
    ttft_ms: pcts(rs.flatMap((r) => (r.ttft_ms === null ? [] : [r.ttft_ms]))),
    duration_ms: pcts(rs.map((r) => r.latency_ms)),
    retries: sum((r) => Math.max(0, r.attempts.length - 1)),
    fallbacks: sum((r) => r.attempts.filter((a, i) => i > 0 && a.lane !== r.attempts[i - 1]!.lane).length),
    input_tokens: sum((r) => r.input_tokens),
    output_tokens: sum((r) => r.output_tokens),
    cache_read_input_tokens: sum((r) => r.cache_read_input_tokens),
    cache_creation_input_tokens: sum((r) => r.cache_creation_input_tokens),
  };
}

/**
 * Statistics per group, busiest group first (ties by key). Pure: the same records give the
 * same numbers whichever store they were read from.
 */
export function computeStats(records: readonly StatInput[], opts: { readonly by?: GroupBy | undefined; readonly sinceMs?: number | undefined } = {}): StatGroup[] {
  const groups = new Map<string, StatInput[]>();
  for (const r of records) {
    if (opts.sinceMs !== undefined && r.ts_ms < opts.sinceMs) continue;
    const k = keyOf(r, opts.by);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  return [...groups].map(([k, rs]) => summarise(k, rs)).sort((a, b) => b.requests - a.requests || a.key.localeCompare(b.key));
}

/** "30m", "1h", "24h", "7d" (also "90s", "2w") → milliseconds; undefined when it is not a duration. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(s.trim());
  if (!m) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as "s" | "m" | "h" | "d" | "w"];
  return Number(m[1]) * unit;
}
