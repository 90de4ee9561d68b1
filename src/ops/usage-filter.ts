import type { UsageRecord } from "../usage/record.ts";
import { isError } from "../usage/outcome.ts";

/** A usage.jsonl line as read back: older lines may lack newer fields, so every field is optional. */
export type UsageLine = Readonly<Partial<UsageRecord>>;

export interface UsageFilter {
  readonly lane?: string | undefined;
  /** "502", or a class such as "5xx" / "4xx". */
  readonly status?: string | undefined;
  /** Only requests that failed: an error status or an error the client saw. */
  readonly errors?: boolean | undefined;
  /** Epoch ms: only lines at or after it. */
  readonly since?: number | undefined;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90s", "15m", "1h", "2d", "1w", or an ISO 8601 date: an epoch ms, or undefined when unreadable. */
export function parseSince(text: string, now: number): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (m) return now - Number(m[1]) * UNITS[m[2]!]!;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/** "502" or "5xx"; undefined when it is neither. */
export function statusMatcher(text: string): ((status: number) => boolean) | undefined {
  if (/^[1-5]\d\d$/.test(text)) return (s) => s === Number(text);
  const cls = /^([1-5])xx$/i.exec(text);
  if (cls) return (s) => Math.floor(s / 100) === Number(cls[1]);
  return undefined;
}

export function matchesFilter(r: UsageLine, f: UsageFilter): boolean {
  if (f.lane !== undefined && r.lane !== f.lane) return false;
  if (f.errors && !isError(r)) return false;
  if (f.status !== undefined) {
    const m = statusMatcher(f.status);
    if (!m?.(r.status ?? 0)) return false;
  }
  if (f.since !== undefined) {
    const t = Date.parse(r.ts ?? "");
    if (Number.isNaN(t) || t < f.since) return false;
  }
  return true;
}

/** Retries a request took: the record's own count, else its attempts after the first. */
export const retriesOf = (r: UsageLine): number => r.retries ?? Math.max(0, (r.attempts?.length ?? 1) - 1);

/** The lane a fallback moved the request from, when it moved. */
export function fallbackOf(r: UsageLine): string | null {
  if (r.fallback_from) return r.fallback_from;
  const first = r.attempts?.[0]?.lane;
  return first && r.lane && first !== r.lane ? first : null;
}
