import type { UsageRecord } from "./record.ts";

/**
 * Diagnostics capture (off by default). forward() opens a session per request when a
 * Capture is configured; the session sees the request body and the raw upstream bytes.
 */
export interface CaptureSession {
  /** Raw upstream response bytes, as they were passed to the client. */
  response(chunk: Uint8Array): void;
  /** The request is over; the record says whether it failed. Called once. */
  end(record: UsageRecord): void;
}

export interface Capture {
  begin(rid: string, requestHeaders: Headers, body: Uint8Array | undefined): CaptureSession | undefined;
}
