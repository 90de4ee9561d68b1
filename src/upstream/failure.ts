/**
 * The closed set of failure classes (DESIGN.md), and what each one means to the attempt loop:
 * the one table the loop, the classifier and the docs read (undici's habit: one list of
 * retryable errors). The same string appears in the usage record, metric labels, log lines
 * and the docs.
 * - retryable: worth another attempt before commit;
 * - network: the connection never carried an answer (the fallback policy "network" moves these);
 * - h2: a failure shaped like HTTP/2 trouble (an `auto` lane retries at once over HTTP/1.1);
 * - overload: the lane is saturated (its adaptive concurrency limit backs off).
 * Answers (http_status, in_stream_error) are judged by their status and body in classify.ts.
 */
export interface FailureTraits {
  readonly retryable: boolean;
  readonly network: boolean;
  readonly h2: boolean;
  readonly overload: boolean;
  /** One line for the docs. */
  readonly means: string;
}

const traits = (retryable: boolean, network: boolean, h2: boolean, overload: boolean, means: string): FailureTraits => ({
  retryable,
  network,
  h2,
  overload,
  means,
});

export const FAILURE_TABLE = {
  connect: traits(true, true, false, false, "TCP connect refused, unreachable or timed out"),
  tls_timeout: traits(true, true, true, false, "the TLS handshake did not finish in time"),
  // h2-shaped: a peer that does not negotiate HTTP/2 fails here, and an auto lane must then use HTTP/1.1.
  tls: traits(true, true, true, false, "the TLS handshake failed (certificate, or ALPN: no HTTP/2)"),
  headers_timeout: traits(true, true, true, false, "no response headers within headers_ms"),
  dead_session: traits(true, true, true, false, "an HTTP/2 session stopped answering PING, or was torn down under the attempt"),
  upload_stall: traits(true, true, true, false, "the request body made no progress for upload_stall_ms"),
  idle_timeout: traits(true, false, false, false, "no response bytes for idle_ms once streaming"),
  reset: traits(true, false, false, false, "the connection or stream was reset or closed early"),
  goaway: traits(true, false, true, false, "the HTTP/2 peer refused the stream with GOAWAY (never processed)"),
  http_status: traits(false, false, false, false, "the upstream answered an error status (judged by status and body)"),
  in_stream_error: traits(false, false, false, false, "the upstream sent `event: error` (judged by its type and code)"),
  protocol: traits(true, false, false, false, "the upstream answered something that is not the stream or JSON asked for"),
  client_abort: traits(false, false, false, false, "the downstream client went away"),
  shutdown: traits(false, false, false, false, "ccp was stopping and the request outlived the grace period"),
  queue_full: traits(false, false, false, true, "the lane's concurrency queue was full"),
  queue_timeout: traits(false, false, false, true, "waited too long for a lane concurrency slot"),
  quota_wall: traits(false, false, false, false, "every lane of the route's chain is at its plan's limit (or blocks overage): ccp answered 429 naming the resets"),
} as const satisfies Record<string, FailureTraits>;

export type FailureClass = keyof typeof FAILURE_TABLE;

export const FAILURE_CLASSES = Object.keys(FAILURE_TABLE) as readonly FailureClass[];

/** A typed transport failure. Transports throw only this; the attempt loop decides what it means. */
export class UpstreamFailure extends Error {
  override readonly name = "UpstreamFailure";
  constructor(
    readonly failureClass: FailureClass,
    message: string,
    /** True when nothing of the request reached the upstream application (safe to resend anywhere). */
    readonly beforeRequestSent = false,
  ) {
    super(message);
  }
}

export const isUpstreamFailure = (e: unknown): e is UpstreamFailure => e instanceof UpstreamFailure;

/**
 * Why an aborted attempt ended: the abort's own reason when it is a failure (ccp stopping says
 * so), else the client went away. `message` and `beforeRequestSent` describe the latter.
 */
export function abortFailure(signal: AbortSignal | undefined, message: string, beforeRequestSent = false): UpstreamFailure {
  const reason: unknown = signal?.reason;
  if (reason instanceof UpstreamFailure) return beforeRequestSent === reason.beforeRequestSent ? reason : new UpstreamFailure(reason.failureClass, reason.message, beforeRequestSent);
  return new UpstreamFailure("client_abort", message, beforeRequestSent);
}
