import type { UsageRecord, UsageSink } from "../usage/record.ts";
import type { LiveState } from "../usage/live.ts";

export interface Counts {
  requests: number;
  /** Requests that ended with an error status or an error frame (client aborts included). */
  errors: number;
}

const byLive = new WeakMap<LiveState, StatusCounter>();

/** Counts requests and errors since start, overall and per lane, for GET /status. */
export class StatusCounter implements UsageSink {
  readonly total: Counts = { requests: 0, errors: 0 };
  readonly lanes = new Map<string, Counts>();

  /** Registered against the server's live state, so the status endpoint finds it without new wiring. */
  constructor(live: LiveState) {
    byLive.set(live, this);
  }

  static of(live: LiveState): StatusCounter | undefined {
    return byLive.get(live);
  }

  write(record: UsageRecord): void {
    const failed = record.status >= 400 || record.err_type !== null;
    this.total.requests++;
    if (failed) this.total.errors++;
    if (record.lane === null) return;
    let lane = this.lanes.get(record.lane);
    if (!lane) this.lanes.set(record.lane, (lane = { requests: 0, errors: 0 }));
    lane.requests++;
    if (failed) lane.errors++;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}
