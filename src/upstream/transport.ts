import type { Timeouts } from "../config/schema.ts";
import type { ByteSource } from "./body-queue.ts";

export type Protocol = "h1" | "h2";

/** One attempt's request, ready for the wire: headers already filtered and credentialed. */
export interface UpstreamRequest {
  /** Shared between requests (built once per lane, endpoint and query): never mutated. */
  readonly url: Readonly<URL>;
  readonly method: string;
  /** Lower-case names; no hop-by-hop headers, no host, no content-length (transports set them). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | undefined;
  /** Aborts the attempt (client gone, attempt loop gave up). */
  readonly signal: AbortSignal;
  readonly timeouts: Timeouts;
}

export interface UpstreamResponse {
  readonly protocol: Protocol;
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /**
   * The response body as it arrives. Errors with an UpstreamFailure (idle_timeout, reset,
   * dead_session...); cancelling it releases the connection or stream.
   */
  readonly body: ByteSource;
}

/**
 * Sends one attempt and reports a response or a typed failure (UpstreamFailure).
 * It never retries on its own: that is the attempt loop's job.
 */
export interface Transport {
  readonly protocol: Protocol;
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  /** Closes pooled connections / sessions. */
  close(): void;
}
