/**
 * The answer of `GET /quota` (and `GET /quota?model=<client model>`): where each plan stands,
 * as a running ccp knows it. `ccp quota`, `ccp statusline`, the dashboard and `ccp status` read
 * it. Times are epoch milliseconds; fractions are 0..1 and may exceed 1. Holds no credential:
 * a passthrough client's plan is named by a salted hash ("client:3f9a0c1b2d4e").
 */
export interface QuotaBody {
  readonly service: "ccp";
  /** ccp's clock when it answered (ages and "resets in" are computed against it). */
  readonly now: number;
  /** One row per lane and credential ccp has a reading for, then one per lane it has none for. */
  readonly plans: readonly PlanBody[];
  /** With ?model=: where a request for that model goes now. */
  readonly route?: RouteBody | undefined;
}

export interface PlanBody {
  readonly lane: string;
  readonly dialect: string;
  /** "lane" (the lane's own key), "client:<hash>" (a passthrough client's), or "none" (no reading yet). */
  readonly credential: string;
  /** "ok": usable; "walled": refused until the wall's reset; "over": past a route's quota_threshold is not said here, see route. */
  readonly state: "ok" | "walled";
  readonly windows: readonly WindowBody[];
  readonly wall: { readonly window: string; readonly resets_at: number | null; readonly code: string } | null;
  /** Anthropic's extra usage (overage): null when the lane never said. */
  readonly overage: { readonly in_use: boolean; readonly status: string | null; readonly utilization: number | null; readonly resets_at: number | null } | null;
  /** The lane's overage setting: allow, warn or block. */
  readonly overage_setting: "allow" | "warn" | "block";
  /** The quota endpoint poll: "none" (the lane has no quota_url), "ok", "idle" (no traffic in the last hour), "failing" (its last poll failed; readings may be old). */
  readonly poll: "none" | "ok" | "idle" | "failing";
  /** The lane's requests and errors since start (health for the status line). */
  readonly requests: number;
  readonly errors: number;
  /** A lane with its own key whose variable is not set: every request it gets is refused (absent from an older ccp). */
  readonly key_missing?: boolean;
}

export interface WindowBody {
  /** "5h", "7d", "7d_opus", "7d_sonnet", "month_tools", ... */
  readonly window: string;
  readonly utilization: number | null;
  readonly resets_at: number | null;
  readonly status: "allowed" | "allowed_warning" | "rejected" | "unknown";
  /** Where the reading came from: the answers' headers, the lane's quota endpoint, or a wall an answer hit. */
  readonly source: "headers" | "endpoint" | "wall";
  readonly read_at: number;
}

export interface RouteBody {
  readonly model: string;
  /** The route's chain of lanes, in order. */
  readonly lanes: readonly string[];
  /** The lane a request would go to now; null when every lane of the chain is walled. */
  readonly lane: string | null;
  /** Set when the lane is not the chain's first: the first lane, and why it was passed over. */
  readonly rerouted_from: string | null;
  readonly reason: "quota_wall" | "quota_threshold" | null;
  readonly quota_threshold: number;
}
