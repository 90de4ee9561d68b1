import type { FailureClass } from "../upstream/failure.ts";
import type { UsageRecord, UsageSink } from "./record.ts";

export type Reachability = "unknown" | "reachable" | "unreachable";

export interface LaneReach {
  state: Reachability;
  /** When the last attempt on the lane ended (ISO 8601), null before any. */
  at: string | null;
  /** Why the last attempt failed to reach the upstream, when it did. */
  failure_class: FailureClass | null;
}

/** Outcomes that prove the upstream answered, even if the answer was an error. */
const ANSWERED = new Set<string>(["http_status", "in_stream_error"]);
/** Outcomes decided on our side (client gone, lane queue): they say nothing of the upstream. */
const NOT_ABOUT_THE_UPSTREAM = new Set<string>(["client_abort", "shutdown", "queue_full", "queue_timeout"]);

/**
 * Each lane's last known reachability, learned from the attempts of finished requests
 * (no probes of its own): for /readyz, the dashboard and the ccp_lane_up gauge.
 */
export class LaneHealth implements UsageSink {
  readonly lanes = new Map<string, LaneReach>();

  constructor(laneNames: Iterable<string>) {
    for (const name of laneNames) this.lanes.set(name, { state: "unknown", at: null, failure_class: null });
  }

  write(record: UsageRecord): void {
    for (const a of record.attempts) {
      const outcome = a.outcome;
      if (NOT_ABOUT_THE_UPSTREAM.has(outcome)) continue;
      const at = new Date().toISOString();
      if (outcome === "ok" || ANSWERED.has(outcome)) this.lanes.set(a.lane, { state: "reachable", at, failure_class: null });
      else this.lanes.set(a.lane, { state: "unreachable", at, failure_class: outcome });
    }
  }

  async flush(): Promise<void> {}
}
