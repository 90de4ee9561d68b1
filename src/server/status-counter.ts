import type { UsageRecord, UsageSink } from "../usage/record.ts";
import type { LiveState } from "../usage/live.ts";
import { isError } from "../usage/outcome.ts";

export interface Counts {
  requests: number;
  /** Requests whose client did not get a complete answer (usage/outcome.ts). */
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
    const failed = isError(record);
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
