import { answeringProtocol } from "./metrics-sink.ts";
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
const MAX_KEPT = 20_000;

/** The last hour of finished requests, in memory, for the live dashboard (bounded). */
export class RecentRequests implements UsageSink {
  #items: RecentRequest[] = [];

  constructor(readonly now: () => number = Date.now) {}

  write(r: UsageRecord): void {
    this.#items.push({
      t: this.now(),
      ts: r.ts,
      rid: r.rid,
      lane: r.lane,
      model: r.model,
      status: r.status,
      protocol: answeringProtocol(r),
      ttft_ms: r.ttft_ms,
      latency_ms: r.latency_ms,
      attempts: r.attempts.length,
      failure_class: r.failure_class,
      err_type: r.err_type,
      capture: r.capture !== null,
    });
    if (this.#items.length > MAX_KEPT * 1.25) this.#items = this.#items.slice(-MAX_KEPT);
  }

  async flush(): Promise<void> {}

  #window(): RecentRequest[] {
    const since = this.now() - WINDOW_MS;
    const first = this.#items.findIndex((i) => i.t >= since);
    if (first > 0) this.#items = this.#items.slice(first);
    else if (first < 0) this.#items = [];
    return this.#items;
  }

  /** Newest first. */
  latest(n: number): RecentRequest[] {
    return this.#window().slice(-n).reverse();
  }

  /** Requests finished in the last `ms`. */
  countSince(ms: number): number {
    const since = this.now() - ms;
    return this.#window().filter((i) => i.t >= since).length;
  }

  /** One point per minute of the last hour: request count and ttft percentiles (ms). */
  perMinute(): MinutePoint[] {
    const minute = 60_000;
    const end = Math.floor(this.now() / minute) * minute;
    const buckets = new Map<number, RecentRequest[]>();
    for (const i of this.#window()) {
      const t = Math.floor(i.t / minute) * minute;
      let b = buckets.get(t);
      if (!b) buckets.set(t, (b = []));
      b.push(i);
    }
    const out: MinutePoint[] = [];
    for (let t = end - 59 * minute; t <= end; t += minute) {
      const items = buckets.get(t) ?? [];
      const ttft = ascending(items.flatMap((i) => (i.ttft_ms === null ? [] : [i.ttft_ms])));
      out.push({ t, requests: items.length, p50: percentile(ttft, 50), p95: percentile(ttft, 95), p99: percentile(ttft, 99) });
    }
    return out;
  }

  /** ttft percentiles (ms) over the whole last hour. */
  hourTtft(): { p50: number | null; p95: number | null; p99: number | null; n: number } {
    const ttft = ascending(this.#window().flatMap((i) => (i.ttft_ms === null ? [] : [i.ttft_ms])));
    return { p50: percentile(ttft, 50), p95: percentile(ttft, 95), p99: percentile(ttft, 99), n: ttft.length };
  }
}
