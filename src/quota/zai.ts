import type { QuotaWindow, Wall } from "./window.ts";

/**
 * Z.ai's coding plan, pure (CLAUDE-CODE-GATEWAY.md §4): the quota endpoint's answer, and the
 * walls (1308: five hours; 1310: weekly or monthly) that arrive as 429s with the reset time in
 * the message, written without a zone, in China time (UTC+8).
 */
const HOUR = 3_600_000;

/** The default quota endpoint of a zai lane: the lane's origin (Z.ai's own plugins ask it there). */
export const zaiQuotaUrl = (baseUrl: string): string => `${new URL(baseUrl).origin}/api/monitor/usage/quota/limit`;

interface Limit {
  readonly type?: unknown;
  readonly percentage?: unknown;
  readonly nextResetTime?: unknown;
}

/**
 * The endpoint's `data.limits`: TOKENS_LIMIT rows are the 5-hour window and (a second row,
 * resetting further away) the weekly one; TIME_LIMIT is the monthly tool allowance. Undefined
 * when the answer is not that shape.
 */
export function parseZaiQuota(body: unknown, now: number): QuotaWindow[] | undefined {
  const data = (body as { data?: { limits?: unknown } } | null)?.data;
  if (!data || !Array.isArray(data.limits)) return undefined;
  const windows: QuotaWindow[] = [];
  for (const l of (data.limits as Limit[]).slice(0, 12)) {
    if (typeof l !== "object" || l === null) continue;
    const pct = typeof l.percentage === "number" && Number.isFinite(l.percentage) ? l.percentage / 100 : null;
    const resetsAt = typeof l.nextResetTime === "number" && Number.isFinite(l.nextResetTime) ? l.nextResetTime : null;
    const window = l.type === "TIME_LIMIT" ? "month_tools" : l.type === "TOKENS_LIMIT" ? (resetsAt !== null && resetsAt - now > 6 * HOUR ? "7d" : "5h") : plainName(l.type);
    windows.push({ window, utilization: pct, resetsAt, status: pct === null ? "unknown" : pct >= 1 ? "rejected" : "allowed", source: "endpoint", readAt: now });
  }
  return windows;
}

/** A limit type ccp does not know, as a window name fit for a metric label. */
const plainName = (type: unknown): string => {
  const name = String(type ?? "unknown").toLowerCase();
  return /^[a-z0-9_]{1,32}$/.test(name) ? name : "other";
};

const WALL_WINDOW: Record<string, string> = { "1308": "5h", "1310": "7d" };

/** The wall code of an error body: in error.code, in error.type, or in brackets in the message. */
function wallCode(body: string): string | undefined {
  try {
    const err = (JSON.parse(body) as { error?: { code?: unknown; type?: unknown; message?: unknown } }).error;
    for (const v of [err?.code, err?.type]) if (v !== undefined && String(v) in WALL_WINDOW) return String(v);
    const inMessage = /\[(1308|1310)\]/.exec(String(err?.message ?? ""))?.[1];
    if (inMessage) return inMessage;
  } catch {
    // Not JSON: the message may still be there as text.
  }
  // An error frame of a stream, or text around the JSON.
  return (/"(?:code|type)"\s*:\s*"?(1308|1310)\b/.exec(body) ?? /\[(1308|1310)\]/.exec(body))?.[1];
}

/** "YYYY-MM-DD hh:mm:ss" with no zone, as China time (UTC+8), unless it names its own offset. */
export function parseResetTime(text: string): number | null {
  const m = /(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}:?\d{2}|UTC|GMT)?/.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, zone] = m;
  let offsetMin = 8 * 60;
  if (zone === "Z" || zone === "UTC" || zone === "GMT") offsetMin = 0;
  else if (zone) offsetMin = (zone.startsWith("-") ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0)) - offsetMin * 60_000;
  return Number.isFinite(utc) ? utc : null;
}

/** A Z.ai wall in an error answer (status 429 or an in-stream error), or undefined. */
export function zaiWall(body: string): Wall | undefined {
  const code = wallCode(body);
  if (!code) return undefined;
  return { window: WALL_WINDOW[code]!, resetsAt: parseResetTime(body), code };
}
