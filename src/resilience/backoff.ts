/**
 * Back-off maths, pure. Full jitter (each wait uniform in [0, min(cap, base·2ⁿ))), the
 * industry default for retries that must not synchronise across clients sharing a key
 * (AWS Architecture Blog "Exponential Backoff and Jitter"; Envoy's router).
 */
export function fullJitterMs(retry: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retry));
  return Math.floor(random() * ceiling);
}

/**
 * `retry-after` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns milliseconds
 * from `nowMs`, or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // An HTTP-date names its day and month (IMF-fixdate); bare numbers like "-1" are not dates.
  const date = /[a-z]{3}/i.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
