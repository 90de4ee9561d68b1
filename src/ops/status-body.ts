import type { ServiceRef } from "./service-ref.ts";
import type { ClusterStatus } from "../cluster/cluster.ts";

export type { ClusterStatus };

/** The answer of `GET /status`: what a running ccp says of itself (the CLI reads it). */
export interface StatusBody {
  readonly service: "ccp";
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly profile: string;
  /** Config file in use, or null for the built-in defaults. */
  readonly config: string | null;
  readonly usage_log: string;
  readonly started_at: string;
  readonly uptime_s: number;
  readonly persist: boolean;
  readonly fallback: string;
  readonly requests: number;
  readonly errors: number;
  readonly inflight: number;
  readonly lanes: readonly LaneStatus[];
  /** The service manager that runs it (CCP_SERVICE in its environment), else null; absent from a ccp older than `ccp service`. */
  readonly managed_by?: ServiceRef | null;
  /** Started by `ccp demo`: its lane is the built-in simulator, nothing reaches a provider. */
  readonly demo?: boolean;
  /** The fleet this instance shares lanes with through Redis; absent when none (a ccp of its own). */
  readonly cluster?: ClusterStatus;
}

export interface LaneStatus {
  readonly name: string;
  /** As configured. */
  readonly transport: string;
  /** What the lane's next attempt uses (differs from transport after a downgrade). */
  readonly protocol: string;
  readonly base_url: string;
  readonly dialect: string;
  readonly auth: string;
  /** "client": passthrough; "present" / "missing": the lane's own key (never its value). */
  readonly credentials: "client" | "present" | "missing";
  readonly requests: number;
  readonly errors: number;
}
