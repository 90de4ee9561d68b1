/**
 * The closed set of failure classes (DESIGN.md). The same string appears in the
 * usage record, metric labels, log lines and the docs.
 */
export const FAILURE_CLASSES = [
  "connect", // TCP connect refused, unreachable or timed out
  "tls_timeout", // TLS handshake did not finish in time
  "tls", // TLS handshake failed (certificate, ALPN)
  "headers_timeout", // no response headers within headers_ms
  "dead_session", // an HTTP/2 session stopped answering PING, or was torn down under the attempt
  "upload_stall", // the request body made no progress
  "idle_timeout", // no response bytes for idle_ms once streaming
  "reset", // the connection or stream was reset / closed early
  "goaway", // the HTTP/2 peer refused the stream with GOAWAY
  "http_status", // the upstream answered an error status
  "in_stream_error", // the upstream sent `event: error`
  "protocol", // the upstream answered something that is not the stream or JSON asked for
  "client_abort", // the downstream client went away
  "shutdown", // ccp was stopping and the request outlived the grace period
  "queue_full", // the lane's concurrency queue was full
  "queue_timeout", // waited too long for a lane concurrency slot
] as const;

export type FailureClass = (typeof FAILURE_CLASSES)[number];

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
