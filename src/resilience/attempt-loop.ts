import type { Config, Lane } from "../config/config.ts";
import type { AttemptRecord } from "../usage/record.ts";
import { abortFailure, FAILURE_TABLE, isUpstreamFailure, UpstreamFailure } from "../upstream/failure.ts";
import type { UpstreamRequest } from "../upstream/transport.ts";
import { fullJitterMs, parseRetryAfter } from "./backoff.ts";
import { classifyFailure, classifyInStreamError, classifyStatus, type Verdict } from "./classify.ts";
import type { LaneRuntime } from "./lane-runtime.ts";
import { LimiterRejected, type Release } from "./limiter.ts";
import { peek, type Committed, type ErrorAnswer, type InStreamError } from "./peek.ts";

/** What one lane needs sent: built per lane, since credentials and model names differ. */
export type LaneRequest = Omit<UpstreamRequest, "signal" | "timeouts">;

export interface LoopInput {
  readonly first: LaneRuntime;
  readonly lanes: ReadonlyMap<string, LaneRuntime>;
  readonly fallback: Config["fallback"];
  readonly build: (lane: Lane) => LaneRequest;
  readonly signal: AbortSignal;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** An attempt failed at the transport (its record is already in the list): for the server log. */
  readonly onFailure?: ((attempt: AttemptRecord, n: number, failure: UpstreamFailure) => void) | undefined;
  readonly random?: () => number;
}

interface Outcome {
  readonly attempts: AttemptRecord[];
  /** The lane that gave the final answer. */
  readonly runtime: LaneRuntime;
  /** The lane the request was routed to, when a fallback moved it. */
  readonly fallbackFrom: string | undefined;
  readonly downgraded: boolean;
  readonly queueMs: number;
}

export type LoopResult =
  | (Outcome & { readonly kind: "committed"; readonly peeked: Committed; readonly release: Release })
  | (Outcome & { readonly kind: "answer"; readonly peeked: ErrorAnswer | InStreamError; readonly verdict: Verdict; readonly exhausted: boolean })
  | (Outcome & { readonly kind: "failed"; readonly failure: UpstreamFailure; readonly verdict: Verdict | undefined });


const abortableSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/**
 * The one place that decides how a request is tried: retries with full-jitter back-off
 * (honouring retry-after up to a cap), HTTP/2 → HTTP/1.1 downgrade, fallback to another
 * lane, lane concurrency. Nothing leaves before the commit point (peek), so every
 * failure here is still invisible to the client. Every attempt is recorded.
 */
export async function runAttempts(input: LoopInput): Promise<LoopResult> {
  const { signal, now } = input;
  const sleep = input.sleep ?? abortableSleep;
  const random = input.random ?? Math.random;
  const started = now();
  const attempts: AttemptRecord[] = [];
  let runtime = input.first;
  let fallbackFrom: string | undefined;
  let downgraded = false;
  let queueMs = 0;
  let laneTries = 0;
  let waitMs = 0;

  const outcome = (): Outcome => ({ attempts, runtime, fallbackFrom, downgraded, queueMs });
  const fallbackLane = (): LaneRuntime | undefined => {
    const name = runtime.lane.fallback_lane;
    return fallbackFrom === undefined && name !== undefined ? input.lanes.get(name) : undefined;
  };

  for (;;) {
    const lane = runtime.lane;
    const transport = runtime.transport(now());
    let release: Release = () => {};
    if (runtime.limiter) {
      const queued = now();
      try {
        release = await runtime.limiter.acquire(signal);
      } catch (e) {
        queueMs += now() - queued;
        const reason = e instanceof LimiterRejected ? e.reason : "queue_full";
        const failure = reason === "aborted" ? abortFailure(signal, "the client went away while queued") : new UpstreamFailure("queue_full", `lane "${lane.name}": ${(e as Error).message}`);
        return { kind: "failed", failure, verdict: { retryable: false, network: false, overload: true, code: undefined }, ...outcome() };
      }
      queueMs += now() - queued;
    }

    const attemptStart = now();
    const record = (outcome: AttemptRecord["outcome"], status: number | null, code: string | null) =>
      attempts.push({ lane: lane.name, protocol: transport.protocol, outcome, status, ms: Math.round(now() - attemptStart), wait_ms: Math.round(waitMs), code });

    let verdict: Verdict;
    let answer: ErrorAnswer | InStreamError | undefined;
    let failure: UpstreamFailure | undefined;
    let retryAfterMs: number | undefined;
    try {
      const response = await transport.send({ ...input.build(lane), timeouts: lane.timeouts, signal });
      const peeked = await peek(response);
      if (peeked.kind === "commit") {
        runtime.limiter?.onSuccess();
        record("ok", response.status, null);
        return { kind: "committed", peeked, release, ...outcome() };
      }
      answer = peeked;
      const bodyText = new TextDecoder().decode(peeked.body);
      if (peeked.kind === "error_status") {
        verdict = classifyStatus(response.status, bodyText);
        retryAfterMs = parseRetryAfter(response.headers.find(([k]) => k === "retry-after")?.[1], Date.now());
        record("http_status", response.status, verdict.code ?? null);
      } else {
        const err = peeked.observation.error;
        verdict = classifyInStreamError(err?.type ?? "api_error", err?.message ?? "", bodyText);
        record("in_stream_error", response.status, verdict.code ?? err?.type ?? null);
      }
      // Said like a transport failure, so the operator's log has one line per failed attempt.
      const why = peeked.kind === "error_status" ? `HTTP ${response.status}: ${bodyText}` : `${peeked.observation.error?.type ?? "error"}: ${peeked.observation.error?.message ?? ""}`;
      input.onFailure?.(attempts.at(-1)!, attempts.length, new UpstreamFailure(peeked.kind === "error_status" ? "http_status" : "in_stream_error", why.replace(/\s+/g, " ").slice(0, 300)));
    } catch (e) {
      failure = isUpstreamFailure(e) ? e : new UpstreamFailure("protocol", (e as Error)?.message ?? String(e));
      if (signal.aborted) failure = abortFailure(signal, "the client went away");
      verdict = classifyFailure(failure.failureClass);
      record(failure.failureClass, null, null);
      input.onFailure?.(attempts.at(-1)!, attempts.length, failure);
    }
    release();
    if (verdict.overload) runtime.limiter?.onOverload();
    laneTries++;
    waitMs = 0;

    const giveUp = (exhausted: boolean): LoopResult =>
      answer ? { kind: "answer", peeked: answer, verdict, exhausted, ...outcome() } : { kind: "failed", failure: failure!, verdict, ...outcome() };
    if (signal.aborted) return { kind: "failed", failure: abortFailure(signal, "the client went away"), verdict, ...outcome() };

    // An `auto` lane whose HTTP/2 attempt failed in an HTTP/2 way: once more at once, over HTTP/1.1.
    if (failure && transport.protocol === "h2" && runtime.canDowngrade() && FAILURE_TABLE[failure.failureClass].h2) {
      runtime.downgrade(now());
      downgraded = true;
      continue;
    }
    // A connection-level failure moves the request to the fallback lane when the policy allows it.
    const fallback = fallbackLane();
    if (fallback && input.fallback !== "off" && verdict.network) {
      fallbackFrom = lane.name;
      runtime = fallback;
      laneTries = 0;
      continue;
    }
    if (verdict.retryable && laneTries < lane.retry.attempts) {
      if (retryAfterMs !== undefined && retryAfterMs > lane.retry.retry_after_max_ms) return giveUp(false);
      const wait = retryAfterMs ?? fullJitterMs(laneTries - 1, lane.retry.base_ms, lane.retry.cap_ms, random);
      if (now() - started + wait < lane.retry.budget_ms) {
        await sleep(wait, signal);
        waitMs = wait;
        if (signal.aborted) return { kind: "failed", failure: abortFailure(signal, "the client went away"), verdict, ...outcome() };
        continue;
      }
    }
    // Retries exhausted: the policy "any" still lets the request try the fallback lane.
    if (fallback && input.fallback === "any" && verdict.retryable) {
      fallbackFrom = lane.name;
      runtime = fallback;
      laneTries = 0;
      continue;
    }
    return giveUp(verdict.retryable);
  }
}
