import { planRejected } from "../quota/unified.ts";
import { FAILURE_TABLE, type FailureClass } from "../upstream/failure.ts";

/**
 * What a failed attempt means. Pure: decided from the failure class, the status, and
 * the error body or in-stream error frame (PROTOCOL.md: Anthropic and Z.ai codes).
 */
export interface Verdict {
  /** Worth trying again before commit. */
  readonly retryable: boolean;
  /** A connection-level failure (the fallback policy "network" moves these to another lane). */
  readonly network: boolean;
  /** A burst or overload signal (the lane's concurrency limit backs off). */
  readonly overload: boolean;
  /** The provider said too many at once (Z.ai 1302): the streams it admitted are what it takes (the limiter's ceiling). */
  readonly concurrency?: boolean;
  /** The provider's business code, when one was found ("1302"). */
  readonly code: string | undefined;
  /** A plan's quota wall (Z.ai 1308/1310, Anthropic's unified `rejected`): the next lane of the route's chain may take it. */
  readonly quota?: boolean;
}

/** Z.ai quota walls and balance errors: retrying cannot help (PROTOCOL.md). */
const NEVER_RETRY_CODES = new Set(["1113", "1304", "1308", "1310", "1000", "1001", "1002", "1003", "1004", "1210", "1214", "1261"]);
/** Z.ai's plan walls: five hours, weekly or monthly (CLAUDE-CODE-GATEWAY.md §4). */
const WALL_CODES = new Set(["1308", "1310"]);
/** Z.ai burst, frequency and overload codes: a retry after a short wait usually works. */
const BURST_CODES = new Set(["1302", "1303", "1305"]);
/** Of those, the one that says "too many at once" (PROTOCOL.md: 1302 high concurrency). */
const CONCURRENCY_CODE = "1302";
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504, 529]);
const RETRYABLE_ERROR_TYPES = new Set(["rate_limit_error", "overloaded_error", "api_error", "timeout_error"]);

/** Finds a provider business code: `"code":"1302"`, `"code":1302`, `"type":"1308"` (Z.ai's error.type form) or `[1302]` in a message. */
export function businessCode(text: string): string | undefined {
  const m = /"code"\s*:\s*"?(\d{3,5})"?/.exec(text) ?? /"type"\s*:\s*"(\d{4})"/.exec(text) ?? /\[(\d{4})\]/.exec(text);
  return m?.[1];
}

export function classifyFailure(failureClass: FailureClass): Verdict {
  return {
    retryable: FAILURE_TABLE[failureClass].retryable,
    network: FAILURE_TABLE[failureClass].network,
    overload: FAILURE_TABLE[failureClass].overload,
    code: undefined,
  };
}

/**
 * A subscription's plan limit (CLAUDE-CODE-GATEWAY.md §3): a 429 whose unified rate-limit
 * headers say `rejected`. Claude Code ends the turn on it ("resets at ...") and reads the
 * headers itself: passed on at once, as it came. A 429 without them is a short throttle.
 */
export function isPlanLimit(status: number, headers: ReadonlyArray<readonly [string, string]>): boolean {
  return status === 429 && planRejected(headers);
}

/** An HTTP error answer (status ≥ 400) with its body text and headers. */
export function classifyStatus(status: number, body: string, headers: ReadonlyArray<readonly [string, string]> = []): Verdict {
  const code = businessCode(body);
  // The provider's own word on retrying (x-should-retry, as Anthropic's clients read it) wins.
  const says = headers
    .find(([k]) => k === "x-should-retry")?.[1]
    ?.trim()
    .toLowerCase();
  if (isPlanLimit(status, headers)) return { retryable: false, network: false, overload: false, code, quota: true };
  if (code !== undefined && NEVER_RETRY_CODES.has(code)) return { retryable: false, network: false, overload: false, code, quota: WALL_CODES.has(code) };
  if (says === "false") return { retryable: false, network: false, overload: false, code };
  if (/"type"\s*:\s*"billing_error"/.test(body)) return { retryable: false, network: false, overload: false, code };
  const overload = status === 429 || status === 529 || status === 503 || (code !== undefined && BURST_CODES.has(code));
  return { retryable: RETRYABLE_STATUSES.has(status), network: false, overload, code, concurrency: code === CONCURRENCY_CODE };
}

/** A 200 stream whose first real event was `event: error`. */
export function classifyInStreamError(type: string, message: string, raw: string): Verdict {
  const code = businessCode(raw) ?? businessCode(message) ?? (WALL_CODES.has(type) ? type : undefined);
  if (code !== undefined && NEVER_RETRY_CODES.has(code)) return { retryable: false, network: false, overload: false, code, quota: WALL_CODES.has(code) };
  const burst = code !== undefined && BURST_CODES.has(code);
  const overload = burst || type === "rate_limit_error" || type === "overloaded_error";
  return { retryable: burst || RETRYABLE_ERROR_TYPES.has(type), network: false, overload, code, concurrency: code === CONCURRENCY_CODE };
}
