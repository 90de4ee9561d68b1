/**
 * One definition of an error, read by the status page, the metrics, the dashboard, `ccp usage
 * --errors` and `--stats`: a request is an error when its client did not get a complete answer
 * (an error status, or a failure class: a stream cut, an error after commit, the client leaving).
 * Failed attempts are counted apart (`attempts`, `ccp_upstream_attempts_total{outcome!="ok"}`).
 * `err_type` alone also counts, for lines written before failure_class existed.
 */
export const isError = (r: { readonly status?: number | null; readonly failure_class?: string | null; readonly err_type?: string | null }): boolean =>
  (r.status ?? 0) >= 400 || Boolean(r.failure_class) || Boolean(r.err_type);

/**
 * The protocol of the attempt that answered (what `protocol` means on a usage line's attempts,
 * in metric labels, log lines and `--by protocol`): the last attempt's, else the record's legacy
 * `h2` flag, else "none" (nothing was sent upstream).
 */
export function answeredOver(r: { readonly attempts?: readonly { readonly protocol: string }[] | undefined; readonly h2?: boolean | null | undefined }): string {
  const last = r.attempts?.at(-1);
  if (last) return last.protocol;
  return r.h2 === null || r.h2 === undefined ? "none" : r.h2 ? "h2" : "h1";
}
