import { answeredOver } from "./outcome.ts";
import { ascending, percentile } from "./percentile.ts";
import type { UsageRecord, UsageSink } from "./record.ts";

/** What the dashboard shows of one request. */
export interface RecentRequest {
  /** Finished at, epoch ms. */
  readonly t: number;
  readonly ts: string;
  readonly rid: string;
  readonly lane: string | null;
  readonly model: string | null;
  readonly status: number;
  readonly protocol: string;
  readonly ttft_ms: number | null;
  readonly latency_ms: number;
  readonly attempts: number;
  readonly failure_class: string | null;
  readonly err_type: string | null;
  readonly capture: boolean;
}

export interface MinutePoint {
  /** Start of the minute, epoch ms. */
  readonly t: number;
  readonly requests: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

const WINDOW_MS = 60 * 60 * 1000;
/** Requests whose finish time and ttft the hour's figures are computed from (the oldest drop out first). */
export const MAX_KEPT = 20_000;
/** Requests kept whole, for the dashboard's table of the latest ones. */
export const LATEST_KEPT = 100;

/**
 * The last hour of finished requests, in memory, for the live dashboard. Its size is fixed from
 * the start: the hour's figures come from two number columns (finish time, ttft) in a ring of
 * MAX_KEPT, and only the latest LATEST_KEPT requests are kept as objects. A busy proxy's memory
 * so does not grow with the request count until the ring is full.
 */
export class RecentRequests implements UsageSink {
  readonly #t = new Float64Array(MAX_KEPT);
  /** ttft in ms; NaN when the request had none. */
  readonly #ttft = new Float64Array(MAX_KEPT);
  /** Where the next request goes in the ring, and how many slots hold one. */
  #next = 0;
  #size = 0;
  readonly #latest: RecentRequest[] = [];

  constructor(readonly now: () => number = Date.now) {}

  write(r: UsageRecord): void {
    const t = this.now();
    this.#t[this.#next] = t;
    this.#ttft[this.#next] = r.ttft_ms ?? Number.NaN;
    this.#next = (this.#next + 1) % MAX_KEPT;
    this.#size = Math.min(this.#size + 1, MAX_KEPT);
    this.#latest.push({
      t,
      ts: r.ts,
      rid: r.rid,
      lane: r.lane,
      model: r.model,
      status: r.status,
      protocol: answeredOver(r),
      ttft_ms: r.ttft_ms,
      latency_ms: r.latency_ms,
      attempts: r.attempts.length,
      failure_class: r.failure_class,
      err_type: r.err_type,
      capture: r.capture !== null,
    });
    if (this.#latest.length > LATEST_KEPT) this.#latest.shift();
  }

  async flush(): Promise<void> {}

  /** Calls `visit` with the finish time and ttft (NaN for none) of each kept request finished since `since`. */
  #each(since: number, visit: (t: number, ttft: number) => void): void {
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#next - this.#size + k + MAX_KEPT) % MAX_KEPT;
      const t = this.#t[i]!;
      if (t >= since) visit(t, this.#ttft[i]!);
    }
  }

  /** Newest first; at most LATEST_KEPT, none older than the hour. */
  latest(n: number): RecentRequest[] {
    const since = this.now() - WINDOW_MS;
    return this.#latest
      .filter((i) => i.t >= since)
      .slice(-n)
      .reverse();
  }

  /** Requests finished in the last `ms` (at most MAX_KEPT). */
  countSince(ms: number): number {
    let n = 0;
    this.#each(this.now() - ms, () => n++);
    return n;
  }

  /** One point per minute of the last hour: request count and ttft percentiles (ms). */
  perMinute(): MinutePoint[] {
    const minute = 60_000;
    const end = Math.floor(this.now() / minute) * minute;
    const first = end - 59 * minute;
    const counts = new Array<number>(60).fill(0);
    const ttfts: number[][] = Array.from({ length: 60 }, () => []);
    this.#each(first, (t, ttft) => {
      const b = Math.floor((t - first) / minute);
      if (b >= 60) return;
      counts[b]!++;
      if (!Number.isNaN(ttft)) ttfts[b]!.push(ttft);
    });
    return counts.map((requests, b) => {
      const sorted = ascending(ttfts[b]!);
      return { t: first + b * minute, requests, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
    });
  }

  /** ttft percentiles (ms) over the whole last hour. */
  hourTtft(): { p50: number | null; p95: number | null; p99: number | null; n: number } {
    const values: number[] = [];
    this.#each(this.now() - WINDOW_MS, (_, ttft) => {
      if (!Number.isNaN(ttft)) values.push(ttft);
    });
    const ttft = ascending(values);
    return { p50: percentile(ttft, 50), p95: percentile(ttft, 95), p99: percentile(ttft, 99), n: ttft.length };
  }
}
