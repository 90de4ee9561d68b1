import type { FailureClass } from "../upstream/failure.ts";
import type { Protocol } from "../upstream/transport.ts";

/** One try of one request on one lane over one protocol. */
export interface AttemptRecord {
  readonly lane: string;
  readonly protocol: Protocol;
  /** "ok", or the failure class that ended the attempt. */
  readonly outcome: "ok" | FailureClass;
  /** Upstream HTTP status, when headers arrived. */
  readonly status: number | null;
  /** From the attempt's start to its outcome (headers or failure). */
  readonly ms: number;
  /** Back-off waited before this attempt. */
  readonly wait_ms: number;
  /** The provider's error code or in-stream error type ("1302", "overloaded_error"), when there was one. */
  readonly code: string | null;
}

/**
 * The error type a client saw: Anthropic's (an upstream's own when it sent one, as it sent it,
 * redacted and bounded), or ccp's two: `stream_error` (a stream that did not end whole) and
 * `client_abort` (the client left). Null when the client got a complete answer.
 */
export type ErrType =
  | "invalid_request_error"
  | "authentication_error"
  | "billing_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "timeout_error"
  | "overloaded_error"
  | "stream_error"
  | "client_abort"
  // An upstream may send a type of its own; it is recorded as it came.
  | (string & {});

/**
 * One line of usage.jsonl per client request. Field names up to `header_mode` are the Go
 * shim's, kept for the scripts that already parse them; README documents every field.
 */
export interface UsageRecord {
  ts: string;
  rid: string;
  lane: string | null;
  model: string | null;
  status: number;
  input_tokens: number | null;
  output_tokens: number | null;
  op: "messages" | "count_tokens" | "models";
  latency_ms: number;
  ttft_ms: number | null;
  err_type: ErrType | null;
  upstream: string | null;
  h2: boolean | null;
  header_mode: string | null;
  upstream_model: string | null;
  stream: boolean;
  first_byte_ms: number | null;
  cache_read_input_tokens: number | null;
  cache_creation_input_tokens: number | null;
  stop_reason: string | null;
  upstream_request_id: string | null;
  failure_class: FailureClass | null;
  /** Attempts after the first. */
  retries: number;
  /** The lane the request was routed to, when a fallback moved it to `lane`. */
  fallback_from: string | null;
  /** The first lane of the route's chain, when the request went to a later one because of that lane's plan. */
  rerouted_from: string | null;
  /** Why: the first lane's plan was walled (quota_wall), or past the route's quota_threshold. */
  reroute_reason: "quota_wall" | "quota_threshold" | null;
  /** The [[routes]] entry that matched, by its index in the file (from 0); null when the client picked the lane by name (`<lane>/<model>`) or none matched. */
  route: number | null;
  /** That route's `name`, when it has one. */
  route_name: string | null;
  /** The request is `ccp replay` sending again the captured request with this rid. */
  replay_of: string | null;
  /** An `auto` lane fell back from HTTP/2 to HTTP/1.1 during this request. */
  downgraded: boolean;
  /** Time spent waiting for a lane concurrency slot. */
  queue_ms: number;
  /** count_tokens answered by ccp's local estimate, not the upstream. */
  estimated: boolean;
  profile: string;
  port: number;
  /** Which ccp wrote the line: `instance` (default the host name). */
  instance: string;
  /** The named client whose key the request presented; "anonymous" for the proxy key; null when this ccp asks for no key. */
  client: string | null;
  /** Claude Code's session (its x-claude-code-session-id header), when sent. */
  session_id: string | null;
  /** Claude Code's subagent (its x-claude-code-agent-id header), when sent. */
  agent_id: string | null;
  attempts: AttemptRecord[];
  /** Path of this request's diagnostics capture file, when one was kept. */
  capture: string | null;
}

export interface UsageSink {
  write(record: UsageRecord): void;
  /** Resolves once everything written so far is durable. */
  flush(): Promise<void>;
}
