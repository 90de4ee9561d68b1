import type { UsageRecord } from "./record.ts";

/** Longer values are cut: an identifier, a type or a reason is never this long. */
const MAX_CHARS = 128;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * The record's fields whose values the upstream chose: its request id, the error type and
 * business code it sent, the stop reason. An upstream may put anything there, the credential
 * it was sent included, and these values reach usage.jsonl, SQLite, the dashboard and metric
 * labels: each is redacted, freed of control characters and bounded before it is recorded.
 */
export function scrubUpstreamFields(r: UsageRecord, redact: (text: string) => string): void {
  r.upstream_request_id = scrub(r.upstream_request_id, redact);
  r.err_type = scrub(r.err_type, redact);
  r.stop_reason = scrub(r.stop_reason, redact);
  if (r.attempts.some((a) => a.code !== null)) r.attempts = r.attempts.map((a) => (a.code === null ? a : { ...a, code: scrub(a.code, redact) }));
}

function scrub(value: string | null, redact: (text: string) => string): string | null {
  if (value === null) return null;
  return redact(value).replace(CONTROL, " ").slice(0, MAX_CHARS);
}
