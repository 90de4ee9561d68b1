import type { Config, Lane } from "../config/config.ts";
import type { RetrySettings } from "../config/schema.ts";
import { abortFailure, FAILURE_TABLE, isUpstreamFailure, UpstreamFailure, type FailureClass } from "../upstream/failure.ts";
import { quote } from "../upstream/quote.ts";
import type { Protocol, UpstreamRequest } from "../upstream/transport.ts";
import type { AttemptRecord } from "../usage/record.ts";
import { fullJitterMs, parseRetryAfter } from "./backoff.ts";
import { classifyFailure, classifyInStreamError, classifyStatus, type Verdict } from "./classify.ts";
import type { LaneRuntime } from "./lane-runtime.ts";
import { LimiterRejected, type Release } from "./limiter.ts";
import { peek, type Committed, type Expected, type HttpStatusAnswer, type InStreamError } from "./peek.ts";

/** What one lane needs sent: built per lane, since credentials and model names differ. */
export type LaneRequest = Omit<UpstreamRequest, "signal" | "timeouts">;

export interface LoopInput {
  readonly first: LaneRuntime;
  readonly lanes: ReadonlyMap<string, LaneRuntime>;
  readonly fallback: Config["fallback"];
  readonly build: (lane: Lane) => LaneRequest;
  /** What the client asked for: a 2xx that is something else is a `protocol` failure. */
  readonly expects: Expected;
  readonly signal: AbortSignal;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** An attempt failed (its record is already in the list): for the server log. */
  readonly onFailure?: ((attempt: AttemptRecord, n: number, failure: UpstreamFailure) => void) | undefined;
  /** Every upstream answer: its status and head, and its body when nothing was committed (what the plan's readings come from). */
  readonly onAnswer?: ((lane: Lane, status: number, headers: ReadonlyArray<readonly [string, string]>, body: string | undefined) => void) | undefined;
  /**
   * After a quota wall: the lane of the route's chain that takes the request now, if any, never
   * one already tried (asked after onAnswer saw the wall; a wall that lapsed as it was hit still moves the request on).
   */
  readonly reroute?: ((tried: ReadonlySet<string>) => LaneRuntime | undefined) | undefined;
  readonly random?: () => number;
  /** The transport this request uses on one lane, whatever the lane's setting (`ccp replay --transport`); auto: h2, then h1 for this request only. */
  readonly pin?: { readonly lane: string; readonly transport: "h1" | "h2" | "auto" } | undefined;
}

interface Outcome {
  readonly attempts: AttemptRecord[];
  /** The lane that gave the final answer. */
  readonly runtime: LaneRuntime;
  /** The lane the request was routed to, when a fallback moved it. */
  readonly fallbackFrom: string | undefined;
  /** The lane whose quota wall moved the request to a later lane of its chain. */
  readonly reroutedFrom: string | undefined;
  readonly downgraded: boolean;
  readonly queueMs: number;
}

export type LoopResult =
  | (Outcome & { readonly kind: "committed"; readonly peeked: Committed; readonly release: Release })
  | (Outcome & { readonly kind: "answer"; readonly peeked: HttpStatusAnswer | InStreamError; readonly verdict: Verdict; readonly exhausted: boolean })
  | (Outcome & { readonly kind: "failed"; readonly failure: UpstreamFailure; readonly verdict: Verdict | undefined; readonly exhausted: boolean });

/** What the loop does after an attempt that did not commit. */
export type Next =
  | { readonly kind: "downgrade" }
  | { readonly kind: "reroute" }
  | { readonly kind: "fallback" }
  | { readonly kind: "retry"; readonly waitMs: number }
  | { readonly kind: "stop"; readonly exhausted: boolean };

export interface Situation {
  /** The attempt's failure class when the transport failed (undefined: the upstream answered). */
  readonly failure: FailureClass | undefined;
  readonly verdict: Verdict;
  readonly protocol: Protocol;
  readonly canDowngrade: boolean;
  /** The lane has a fallback lane not yet used by this request. */
  readonly hasFallback: boolean;
  /** The route's chain has a lane that can take the request after this lane's quota wall. */
  readonly hasReroute: boolean;
  readonly policy: Config["fallback"];
  /** Attempts made on the current lane. */
  readonly laneTries: number;
  readonly retry: RetrySettings;
  /** Since the request entered the loop. */
  readonly elapsedMs: number;
  readonly retryAfterMs: number | undefined;
  readonly random: () => number;
}

/**
 * The one decision after a failed attempt. Pure. A quota wall moves the request to the next
 * lane of its route's chain that can take it. An `auto` lane's HTTP/2-shaped failure goes
 * to HTTP/1.1 at once; a connection-level failure to the fallback lane when the policy allows;
 * a retryable one waits (retry-after up to its cap, else full-jitter back-off) and tries again,
 * as long as the lane's attempts last (overloads: as long as its time budget lasts, so a burst
 * storm is waited out in ccp, not handed to the client's own retries; unless attempts = 1,
 * which means never retry); policy "any" then still
 * tries the fallback lane. Otherwise the loop stops, `exhausted` when a retry could have helped.
 */
export function nextStep(s: Situation): Next {
  if (s.verdict.quota && s.hasReroute) return { kind: "reroute" };
  if (s.failure && s.protocol === "h2" && s.canDowngrade && FAILURE_TABLE[s.failure].h2) return { kind: "downgrade" };
  if (s.hasFallback && s.policy !== "off" && s.verdict.network) return { kind: "fallback" };
  // attempts = 1 still means "never retry", overloads included.
  if (s.verdict.retryable && (s.laneTries < s.retry.attempts || (s.verdict.overload && s.retry.attempts > 1))) {
    // A wait longer than ccp will hold the request: policy "any" tries the fallback lane, else the answer (and its retry-after) goes to the client.
    if (s.retryAfterMs !== undefined && s.retryAfterMs > s.retry.retry_after_max_ms) return s.hasFallback && s.policy === "any" ? { kind: "fallback" } : { kind: "stop", exhausted: false };
    const wait = s.retryAfterMs ?? fullJitterMs(s.laneTries - 1, s.retry.base_ms, s.retry.cap_ms, s.random);
    if (s.elapsedMs + wait < s.retry.budget_ms) return { kind: "retry", waitMs: wait };
  }
  if (s.hasFallback && s.policy === "any" && s.verdict.retryable) return { kind: "fallback" };
  return { kind: "stop", exhausted: s.verdict.retryable };
}

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

type Tried =
  | { readonly kind: "committed"; readonly peeked: Committed }
  | { readonly kind: "answer"; readonly peeked: HttpStatusAnswer | InStreamError; readonly verdict: Verdict; readonly retryAfterMs: number | undefined }
  | { readonly kind: "failed"; readonly failure: UpstreamFailure; readonly verdict: Verdict };

/**
 * The one place that decides how a request is tried: each attempt takes a slot from the
 * lane's limiter, is sent and peeked (nothing leaves before the commit point, so every failure
 * here is still invisible to the client), and `nextStep` says what follows. Every attempt is
 * recorded.
 */
export async function runAttempts(input: LoopInput): Promise<LoopResult> {
  const { signal, now } = input;
  const sleep = input.sleep ?? abortableSleep;
  const random = input.random ?? Math.random;
  const started = now();
  const attempts: AttemptRecord[] = [];
  let runtime = input.first;
  let fallbackFrom: string | undefined;
  let reroutedFrom: string | undefined;
  const tried = new Set<string>();
  let downgraded = false;
  let queueMs = 0;
  const pin = pinnedTransport(input.pin);
  let laneTries = 0;
  let waitMs = 0;
  const outcome = (): Outcome => ({ attempts, runtime, fallbackFrom, reroutedFrom, downgraded, queueMs });
  const gone = (verdict: Verdict | undefined): LoopResult => ({
    kind: "failed",
    failure: abortFailure(signal, "the client went away"),
    verdict,
    exhausted: false,
    ...outcome(),
  });

  for (;;) {
    const lane = runtime.lane;
    const queued = now();
    const slot = await takeSlot(runtime, signal);
    queueMs += now() - queued;
    if (slot instanceof UpstreamFailure) return { kind: "failed", failure: slot, verdict: classifyFailure(slot.failureClass), exhausted: false, ...outcome() };
    tried.add(lane.name);
    const attempt = await attemptHolding(input, runtime, attempts, waitMs, pin.on(runtime), slot);
    if (attempt.kind === "committed") return { kind: "committed", peeked: attempt.peeked, release: slot, ...outcome() };
    slot();
    laneTries++;
    waitMs = 0;
    if (signal.aborted) return gone(attempt.verdict);
    const rerouteTo = attempt.verdict.quota ? input.reroute?.(tried) : undefined;
    const canReroute = rerouteTo !== undefined && !tried.has(rerouteTo.lane.name);
    const fallback = fallbackFrom === undefined && lane.fallback_lane !== undefined ? input.lanes.get(lane.fallback_lane) : undefined;
    const next = nextStep({
      failure: attempt.kind === "failed" ? attempt.failure.failureClass : undefined,
      verdict: attempt.verdict,
      protocol: attempts.at(-1)!.protocol,
      canDowngrade: pin.canDowngrade(runtime),
      hasFallback: fallback !== undefined,
      hasReroute: canReroute,
      policy: input.fallback,
      laneTries,
      retry: lane.retry,
      elapsedMs: now() - started,
      retryAfterMs: attempt.kind === "answer" ? attempt.retryAfterMs : undefined,
      random,
    });
    if (next.kind === "reroute") {
      reroutedFrom ??= lane.name;
      runtime = rerouteTo!;
      laneTries = 0;
    } else if (next.kind === "downgrade") {
      pin.downgrade(runtime, now());
      downgraded = true;
    } else if (next.kind === "fallback") {
      fallbackFrom = lane.name;
      runtime = fallback!;
      laneTries = 0;
    } else if (next.kind === "retry") {
      await sleep(next.waitMs, signal);
      waitMs = next.waitMs;
      if (signal.aborted) return gone(attempt.verdict);
    } else if (attempt.kind === "answer") {
      return { kind: "answer", peeked: attempt.peeked, verdict: attempt.verdict, exhausted: next.exhausted, ...outcome() };
    } else {
      return { kind: "failed", failure: attempt.failure, verdict: attempt.verdict, exhausted: next.exhausted, ...outcome() };
    }
  }
}

/**
 * A request's pinned transport (`ccp replay --transport`) on its lane: h1, h2, or auto (h2, then
 * h1 after an HTTP/2-shaped failure, for this request alone: the lane's cool-down is other traffic's).
 */
function pinnedTransport(pin: LoopInput["pin"]) {
  let protocol: Protocol | undefined = pin === undefined ? undefined : pin.transport === "h1" ? "h1" : "h2";
  const on = (runtime: LaneRuntime) => (pin?.lane === runtime.lane.name ? protocol : undefined);
  return {
    on,
    canDowngrade: (runtime: LaneRuntime) => (on(runtime) ? pin!.transport === "auto" && protocol === "h2" : runtime.canDowngrade()),
    downgrade: (runtime: LaneRuntime, nowMs: number) => {
      if (on(runtime)) protocol = "h1";
      else runtime.downgrade(nowMs);
    },
  };
}

/** A slot on the lane (at once unless its limiter is engaged), or why none came. */
async function takeSlot(runtime: LaneRuntime, signal: AbortSignal): Promise<Release | UpstreamFailure> {
  try {
    return await runtime.limiter.acquire(signal);
  } catch (e) {
    const reason = e instanceof LimiterRejected ? e.reason : "queue_full";
    if (reason === "aborted") return abortFailure(signal, "the client went away while queued");
    return new UpstreamFailure(reason, `lane "${runtime.lane.name}": ${(e as Error).message}`);
  }
}

/**
 * One attempt holding a lane slot, and what the lane's limiter hears of it: a stream the
 * provider took (at its message_start, or at commit for a JSON answer), and an overload verdict
 * (with the slot: a stream refused after its message_start was not one the provider took).
 */
async function attemptHolding(input: LoopInput, runtime: LaneRuntime, attempts: AttemptRecord[], waitMs: number, pinned: Protocol | undefined, slot: Release): Promise<Tried> {
  let admitted = false;
  const admit = () => {
    if (admitted) return;
    admitted = true;
    runtime.limiter.onSuccess(slot);
  };
  const attempt = await attemptOnce(input, runtime, attempts, waitMs, pinned, admit);
  if (attempt.kind === "committed") admit();
  else if (attempt.verdict.overload) runtime.limiter.onOverload(attempt.verdict.concurrency === true, slot);
  return attempt;
}

/** One attempt: sent, peeked, judged, recorded. */
async function attemptOnce(input: LoopInput, runtime: LaneRuntime, attempts: AttemptRecord[], waitMs: number, pinned: Protocol | undefined, onStarted: () => void): Promise<Tried> {
  const { lane } = runtime;
  const transport = pinned ? runtime.transportFor(pinned) : runtime.transport(input.now());
  const start = input.now();
  let status: number | null = null;
  const record = (outcome: AttemptRecord["outcome"], code: string | null) =>
    attempts.push({ lane: lane.name, protocol: transport.protocol, outcome, status, ms: Math.round(input.now() - start), wait_ms: Math.round(waitMs), code });
  try {
    const response = await transport.send({ ...input.build(lane), timeouts: lane.timeouts, signal: input.signal });
    status = response.status;
    const peeked = await peek(response, input.expects, undefined, onStarted);
    if (peeked.kind === "commit") {
      input.onAnswer?.(lane, response.status, response.headers, undefined);
      record("ok", null);
      return { kind: "committed", peeked };
    }
    const bodyText = new TextDecoder().decode(peeked.body);
    input.onAnswer?.(lane, response.status, response.headers, bodyText);
    let verdict: Verdict;
    let retryAfterMs: number | undefined;
    if (peeked.kind === "http_status") {
      verdict = classifyStatus(response.status, bodyText, response.headers);
      retryAfterMs = parseRetryAfter(response.headers.find(([k]) => k === "retry-after")?.[1], Date.now());
      record("http_status", verdict.code ?? null);
    } else {
      const err = peeked.observation.error;
      verdict = classifyInStreamError(err?.type ?? "api_error", err?.message ?? "", bodyText);
      record("in_stream_error", verdict.code ?? err?.type ?? null);
    }
    // Said like a transport failure, so the operator's log has one line per failed attempt.
    const why = peeked.kind === "http_status" ? `HTTP ${response.status}: ${bodyText}` : `${peeked.observation.error?.type ?? "error"}: ${peeked.observation.error?.message ?? ""}`;
    input.onFailure?.(attempts.at(-1)!, attempts.length, new UpstreamFailure(peeked.kind, quote(why.replace(/\s+/g, " "), 300)));
    return { kind: "answer", peeked, verdict, retryAfterMs };
  } catch (e) {
    let failure = isUpstreamFailure(e) ? e : new UpstreamFailure("protocol", (e as Error)?.message ?? String(e));
    if (input.signal.aborted) failure = abortFailure(input.signal, "the client went away");
    record(failure.failureClass, null);
    input.onFailure?.(attempts.at(-1)!, attempts.length, failure);
    return { kind: "failed", failure, verdict: classifyFailure(failure.failureClass) };
  }
}
