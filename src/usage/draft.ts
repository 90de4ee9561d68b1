import type { StreamObservation } from "../sse/observer.ts";
import type { UsageRecord } from "./record.ts";

/** Starts a usage record with every field present (null until known), so lines always have one shape. */
export function draftRecord(rid: string, op: UsageRecord["op"], profile: string, port: number): UsageRecord {
  return {
    ts: new Date().toISOString(),
    rid,
    lane: null,
    model: null,
    status: 0,
    input_tokens: null,
    output_tokens: null,
    op,
    latency_ms: 0,
    ttft_ms: null,
    err_type: null,
    upstream: null,
    h2: null,
    header_mode: null,
    upstream_model: null,
    stream: false,
    first_byte_ms: null,
    cache_read_input_tokens: null,
    cache_creation_input_tokens: null,
    stop_reason: null,
    upstream_request_id: null,
    failure_class: null,
    retries: 0,
    fallback_from: null,
    downgraded: false,
    queue_ms: 0,
    estimated: false,
    profile,
    port,
    attempts: [],
    capture: null,
  };
}

export function applyObservation(r: UsageRecord, o: StreamObservation): void {
  r.input_tokens = o.inputTokens ?? null;
  r.output_tokens = o.outputTokens ?? null;
  r.cache_read_input_tokens = o.cacheReadInputTokens ?? null;
  r.cache_creation_input_tokens = o.cacheCreationInputTokens ?? null;
  r.stop_reason = o.stopReason ?? null;
  if (o.error && !r.err_type) r.err_type = o.error.type;
}
