import type { UsageRecord } from "./record.ts";

/**
 * A usage record as a row of the store's `requests` table (SQLite and PostgreSQL alike): booleans
 * as 0/1, the time also as epoch milliseconds. The key order is the column order of inserts.
 */
export type Row = Record<string, string | number | null>;

export const requestRow = (r: UsageRecord): Row => ({
  rid: r.rid,
  ts: r.ts,
  ts_ms: Date.parse(r.ts) || 0,
  profile: r.profile,
  port: r.port,
  instance: r.instance ?? null,
  client: r.client ?? null,
  session_id: r.session_id ?? null,
  agent_id: r.agent_id ?? null,
  op: r.op,
  lane: r.lane,
  model: r.model,
  upstream_model: r.upstream_model,
  upstream: r.upstream,
  status: r.status,
  stream: r.stream ? 1 : 0,
  h2: r.h2 === null ? null : r.h2 ? 1 : 0,
  header_mode: r.header_mode,
  latency_ms: r.latency_ms,
  ttft_ms: r.ttft_ms,
  first_byte_ms: r.first_byte_ms,
  input_tokens: r.input_tokens,
  output_tokens: r.output_tokens,
  cache_read_input_tokens: r.cache_read_input_tokens,
  cache_creation_input_tokens: r.cache_creation_input_tokens,
  stop_reason: r.stop_reason,
  err_type: r.err_type,
  failure_class: r.failure_class,
  upstream_request_id: r.upstream_request_id,
  retries: r.retries ?? Math.max(0, r.attempts.length - 1),
  fallback_from: r.fallback_from ?? null,
  rerouted_from: r.rerouted_from ?? null,
  reroute_reason: r.reroute_reason ?? null,
  route: r.route ?? null,
  route_name: r.route_name ?? null,
  replay_of: r.replay_of ?? null,
  downgraded: r.downgraded ? 1 : 0,
  queue_ms: r.queue_ms ?? 0,
  estimated: r.estimated ? 1 : 0,
  capture: r.capture ?? null,
});

export const REQUEST_COLUMNS = Object.keys(requestRow({ attempts: [] } as unknown as UsageRecord));
