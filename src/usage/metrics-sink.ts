import { ANONYMOUS_CLIENT } from "../config/access.ts";
import type { LiveState } from "./live.ts";
import type { LaneHealth } from "./lane-health.ts";
import { Registry } from "./metrics-registry.ts";
import { answeredOver, isError } from "./outcome.ts";
import type { QuotaDesk } from "../quota/desk.ts";
import type { UsageRecord, UsageSink } from "./record.ts";

/** Seconds; ttft and duration share them (a slow GLM first token takes minutes). */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;
const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;

/**
 * Every metric ccp exposes, declared once. README's metrics table lists the same names;
 * a test checks they agree. Label values are the words of DESIGN.md: lane names,
 * protocols h1/h2, failure classes.
 */
function declare(r: Registry) {
  return {
    requests: r.register({
      name: "ccp_requests_total",
      type: "counter",
      help: "Client requests finished, by lane, client model, HTTP status the client got, protocol of the answering attempt and client (a configured name, anonymous or none).",
      labels: ["lane", "model", "status", "protocol", "client"],
    }),
    attempts: r.register({
      name: "ccp_upstream_attempts_total",
      type: "counter",
      help: "Upstream attempts, by lane, protocol and outcome (ok or a failure class).",
      labels: ["lane", "protocol", "outcome"],
    }),
    errors: r.register({
      name: "ccp_request_errors_total",
      type: "counter",
      help:
        "Client requests whose client did not get a complete answer (an error status, a stream cut, an error after commit, the client " +
        "leaving), by lane, failure class (none for an error status the upstream gave) and client.",
      labels: ["lane", "failure_class", "client"],
    }),
    retries: r.register({
      name: "ccp_retries_total",
      type: "counter",
      help: "Attempts after the first one of a request, by the lane they went to.",
      labels: ["lane"],
    }),
    downgrades: r.register({
      name: "ccp_h2_downgrades_total",
      type: "counter",
      help: "HTTP/2 attempts followed by an HTTP/1.1 attempt on the same lane.",
      labels: ["lane"],
    }),
    fallbacks: r.register({ name: "ccp_fallbacks_total", type: "counter", help: "Requests moved from one lane to another by the fallback policy.", labels: ["from", "to"] }),
    reroutes: r.register({
      name: "ccp_reroutes_total",
      type: "counter",
      help: "Requests sent to a later lane of their route's chain because of the first lane's plan (reason quota_wall or quota_threshold).",
      labels: ["from", "to", "reason"],
    }),
    inStreamErrors: r.register({
      name: "ccp_in_stream_errors_total",
      type: "counter",
      help: "Upstream `event: error` frames (before or after commit), by lane and code (the provider's code such as 1302, else the error type).",
      labels: ["lane", "code"],
    }),
    queueWait: r.register({
      name: "ccp_queue_wait_seconds",
      type: "histogram",
      help: "Time a request waited for a concurrency slot on its lane (requests that waited only).",
      labels: ["lane"],
      buckets: WAIT_BUCKETS,
    }),
    retryWait: r.register({
      name: "ccp_retry_wait_seconds",
      type: "histogram",
      help: "Back-off waited before a retry attempt.",
      labels: ["lane"],
      buckets: WAIT_BUCKETS,
    }),
    ttft: r.register({
      name: "ccp_ttft_seconds",
      type: "histogram",
      help: "Request received to first content token sent to the client.",
      labels: ["lane"],
      buckets: LATENCY_BUCKETS,
    }),
    duration: r.register({
      name: "ccp_request_duration_seconds",
      type: "histogram",
      help: "Request received to response finished.",
      labels: ["lane"],
      buckets: LATENCY_BUCKETS,
    }),
    tokens: r.register({
      name: "ccp_tokens_total",
      type: "counter",
      help: "Tokens reported by the upstream, by lane, client model, type (input, output, cache_read, cache_creation) and client.",
      labels: ["lane", "model", "type", "client"],
    }),
    inflight: r.register({ name: "ccp_inflight_requests", type: "gauge", help: "Client requests being served right now.", labels: [] }),
    queueDepth: r.register({ name: "ccp_queue_depth", type: "gauge", help: "Requests waiting for a concurrency slot on the lane.", labels: ["lane"] }),
    concurrencyLimit: r.register({
      name: "ccp_lane_concurrency_limit",
      type: "gauge",
      help: "The lane's concurrency limit in force (max_concurrency, or adapted after an overload); absent while none is engaged.",
      labels: ["lane"],
    }),
    laneProtocol: r.register({
      name: "ccp_lane_protocol",
      type: "gauge",
      help: "1 for the protocol the lane's next attempt uses, 0 for the other.",
      labels: ["lane", "protocol"],
    }),
    laneUp: r.register({
      name: "ccp_lane_up",
      type: "gauge",
      help: "Last known reachability of the lane's upstream: 1 answered, 0 failed to answer (absent until a first attempt).",
      labels: ["lane"],
    }),
    startTime: r.register({ name: "ccp_start_time_seconds", type: "gauge", help: "When this ccp started, seconds since the epoch.", labels: [] }),
    quotaUtilization: r.register({
      name: "ccp_quota_utilization",
      type: "gauge",
      help: "The plan's latest used fraction of a window (may exceed 1); the highest of the lane's credentials.",
      labels: ["lane", "window"],
    }),
    quotaReset: r.register({ name: "ccp_quota_reset_seconds", type: "gauge", help: "Seconds until the window behind ccp_quota_utilization resets.", labels: ["lane", "window"] }),
    quotaWalls: r.register({ name: "ccp_quota_walls_total", type: "counter", help: "Plan limits (walls) met in answers: Z.ai 1308/1310, Anthropic's unified rejected.", labels: ["lane", "window"] }),
    storeUp: r.register({
      name: "ccp_store_up",
      type: "gauge",
      help: "1 while the PostgreSQL usage store takes records, 0 while they wait in the local buffer (absent with SQLite).",
      labels: [],
    }),
    storeBuffer: r.register({ name: "ccp_store_buffer_bytes", type: "gauge", help: "Usage records waiting in the local buffer for PostgreSQL, in bytes.", labels: [] }),
    storeDropped: r.register({
      name: "ccp_store_dropped_total",
      type: "counter",
      help: "Usage records the full local buffer could not keep for PostgreSQL (they are still in usage.jsonl).",
      labels: [],
    }),
    clusterConnected: r.register({
      name: "ccp_cluster_connected",
      type: "gauge",
      help: "1 while the fleet's Redis answers (shared lanes use the fleet's limits), 0 while this instance uses its local limits; absent without [cluster].",
      labels: [],
    }),
    clusterFallbacks: r.register({
      name: "ccp_cluster_fallbacks_total",
      type: "counter",
      help: "Times the fleet's Redis stopped answering (or overran op_timeout_ms) and the shared lanes fell back to this instance's local limits.",
      labels: [],
    }),
    clusterRejoins: r.register({ name: "ccp_cluster_rejoins_total", type: "counter", help: "Times the fleet's Redis answered again after a fall-back.", labels: [] }),
    clusterSlots: r.register({ name: "ccp_cluster_slots_in_use", type: "gauge", help: "Slots of a shared lane held by the whole fleet, as last read.", labels: ["lane"] }),
    clusterLimit: r.register({
      name: "ccp_cluster_limit",
      type: "gauge",
      help: "A shared lane's fleet-wide concurrency limit, as last read; absent while none is engaged.",
      labels: ["lane"],
    }),
    clusterInstances: r.register({ name: "ccp_cluster_instances", type: "gauge", help: "Instances of the fleet seen serving a shared lane (their heartbeat is current).", labels: ["lane"] }),
    overageInUse: r.register({
      name: "ccp_overage_in_use",
      type: "gauge",
      help: "1 while the lane's answers say extra usage (overage) is being billed, for any of its credentials.",
      labels: ["lane"],
    }),
    overageWindows: r.register({
      name: "ccp_overage_windows_total",
      type: "counter",
      help: "Overage windows met: a credential's answers first saying extra usage (overage) is being billed in a new overage window (when the once-per-window warning is logged).",
      labels: ["lane"],
    }),
  };
}

export type CcpMetrics = ReturnType<typeof declare>;

const TOKEN_FIELDS = [
  ["input", "input_tokens"],
  ["output", "output_tokens"],
  ["cache_read", "cache_read_input_tokens"],
  ["cache_creation", "cache_creation_input_tokens"],
] as const;

/**
 * A label whose values come from clients (the model name) or upstreams (an error code): the
 * first `max` distinct plain values are kept, anything after them or odd in shape is "other",
 * so no client or upstream can grow the scrape without bound.
 */
export class OpenLabel {
  readonly #seen = new Set<string>();
  constructor(readonly max: number) {}

  of(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.max || !/^[\w.:/@+-]{1,128}$/.test(value)) return "other";
    this.#seen.add(value);
    return value;
  }
}

/** The `client` label: a configured client's name, "anonymous" (the proxy key) or "none" (no key), so its values are the config's. */
export function clientLabel(known: ReadonlySet<string>): (client: string | null) => string {
  return (client) => (client !== null && (known.has(client) || client === ANONYMOUS_CLIENT) ? client : "none");
}

/** What the cluster metrics read at scrape time (cluster/cluster.ts's status). */
export interface ClusterGauges {
  status(): {
    readonly connected: boolean;
    readonly fallbacks: number;
    readonly rejoins: number;
    readonly lanes: readonly { readonly name: string; readonly slots_in_use: number; readonly limit: number | null; readonly instances: readonly string[] }[];
  };
}

/** Derives every counter and histogram from finished usage records; gauges read live state at scrape time. */
export class MetricsSink implements UsageSink {
  readonly registry = new Registry();
  readonly m: CcpMetrics = declare(this.registry);
  readonly #models = new OpenLabel(100);
  readonly #codes = new OpenLabel(50);
  readonly #client: (client: string | null) => string;

  /** `clients`: the configured clients' names, the only values of the client label besides anonymous and none. */
  constructor(live: LiveState, health: LaneHealth, quota?: QuotaDesk, clients: readonly string[] = [], cluster?: ClusterGauges) {
    this.#client = clientLabel(new Set(clients));
    this.m.inflight.collect(() => [[{}, live.inflight]]);
    this.m.queueDepth.collect(() => [...live.lanes].map(([lane, l]) => [{ lane }, l.queueDepth] as const));
    this.m.concurrencyLimit.collect(() => [...live.lanes].filter(([, l]) => Number.isFinite(l.limit)).map(([lane, l]) => [{ lane }, l.limit] as const));
    this.m.laneProtocol.collect(() => [...live.lanes].flatMap(([lane, l]) => (["h1", "h2"] as const).map((protocol) => [{ lane, protocol }, l.protocol === protocol ? 1 : 0] as const)));
    this.m.laneUp.collect(() => [...health.lanes].filter(([, h]) => h.state !== "unknown").map(([lane, h]) => [{ lane }, h.state === "reachable" ? 1 : 0] as const));
    this.m.startTime.collect(() => [[{}, Math.round(live.startedAt / 1000)]]);
    if (quota) collectQuota(this.m, quota);
    if (cluster) collectCluster(this.m, cluster);
  }

  write(r: UsageRecord): void {
    const m = this.m;
    const lane = r.lane ?? "none";
    const model = this.#models.of(r.model ?? "none");
    const client = this.#client(r.client);
    m.requests.inc({ lane, model, status: String(r.status), protocol: answeredOver(r), client });
    if (isError(r)) m.errors.inc({ lane, failure_class: r.failure_class ?? "none", client });
    r.attempts.forEach((a, i) => {
      m.attempts.inc({ lane: a.lane, protocol: a.protocol, outcome: a.outcome });
      if (a.outcome === "in_stream_error") {
        const code = a.code ?? (i === r.attempts.length - 1 ? r.err_type : null) ?? "unknown";
        m.inStreamErrors.inc({ lane: a.lane, code: this.#codes.of(code) });
      }
      if (a.wait_ms > 0) m.retryWait.observe({ lane: a.lane }, a.wait_ms / 1000);
      const prev = r.attempts[i - 1];
      if (!prev) return;
      m.retries.inc({ lane: a.lane });
      if (prev.lane !== a.lane && prev.lane !== r.rerouted_from) m.fallbacks.inc({ from: prev.lane, to: a.lane });
      else if (prev.protocol === "h2" && a.protocol === "h1") m.downgrades.inc({ lane: a.lane });
    });
    if (r.rerouted_from && r.reroute_reason && r.lane) m.reroutes.inc({ from: r.rerouted_from, to: r.lane, reason: r.reroute_reason });
    if (r.queue_ms > 0) m.queueWait.observe({ lane }, r.queue_ms / 1000);
    if (r.ttft_ms !== null) m.ttft.observe({ lane }, r.ttft_ms / 1000);
    m.duration.observe({ lane }, r.latency_ms / 1000);
    for (const [type, field] of TOKEN_FIELDS) {
      const n = r[field];
      if (n) m.tokens.inc({ lane, model, type, client }, n);
    }
  }

  async flush(): Promise<void> {}

  /** The PostgreSQL store's state, read at scrape time. */
  observeStore(store: { readonly up: boolean; readonly buffer: { readonly bytes: number; readonly dropped: number } }): void {
    this.m.storeUp.collect(() => [[{}, store.up ? 1 : 0]]);
    this.m.storeBuffer.collect(() => [[{}, store.buffer.bytes]]);
    this.m.storeDropped.collect(() => [[{}, store.buffer.dropped]]);
  }

  render(): string {
    return this.registry.render();
  }
}

/** The quota gauges and wall counts, read from the desk at scrape time; labels are lane names and provider window names (bounded). */
function collectQuota(m: CcpMetrics, quota: QuotaDesk): void {
  const worst = () => {
    const now = quota.clock();
    const rows = new Map<string, { lane: string; window: string; utilization: number; resetS: number }>();
    for (const p of quota.book.plans()) {
      for (const w of p.windows.values()) {
        if (w.utilization === null) continue;
        const key = `${p.lane}\u0000${w.window}`;
        const known = rows.get(key);
        if (known && known.utilization >= w.utilization) continue;
        rows.set(key, { lane: p.lane, window: w.window, utilization: w.utilization, resetS: w.resetsAt === null ? Number.NaN : Math.max(0, Math.round((w.resetsAt - now) / 1000)) });
      }
    }
    return [...rows.values()];
  };
  m.quotaUtilization.collect(() => worst().map((r) => [{ lane: r.lane, window: r.window }, r.utilization] as const));
  m.quotaReset.collect(() =>
    worst()
      .filter((r) => !Number.isNaN(r.resetS))
      .map((r) => [{ lane: r.lane, window: r.window }, r.resetS] as const),
  );
  m.quotaWalls.collect(() => [...quota.walls].map(([key, n]) => [{ lane: key.split("\u0000")[0]!, window: key.split("\u0000")[1]! }, n] as const));
  m.overageInUse.collect(() => {
    const lanes = new Map<string, number>();
    for (const p of quota.book.plans()) lanes.set(p.lane, Math.max(lanes.get(p.lane) ?? 0, p.overage?.inUse ? 1 : 0));
    return [...lanes].map(([lane, v]) => [{ lane }, v] as const);
  });
  m.overageWindows.collect(() => [...quota.overageWindows].map(([lane, n]) => [{ lane }, n] as const));
}

/** The fleet's gauges and counts, read from the cluster's status at scrape time (lane names: bounded). */
function collectCluster(m: CcpMetrics, cluster: ClusterGauges): void {
  m.clusterConnected.collect(() => [[{}, cluster.status().connected ? 1 : 0]]);
  m.clusterFallbacks.collect(() => [[{}, cluster.status().fallbacks]]);
  m.clusterRejoins.collect(() => [[{}, cluster.status().rejoins]]);
  m.clusterSlots.collect(() => cluster.status().lanes.map((l) => [{ lane: l.name }, l.slots_in_use] as const));
  m.clusterLimit.collect(() =>
    cluster
      .status()
      .lanes.filter((l) => l.limit !== null)
      .map((l) => [{ lane: l.name }, l.limit!] as const),
  );
  m.clusterInstances.collect(() => cluster.status().lanes.map((l) => [{ lane: l.name }, l.instances.length] as const));
}
