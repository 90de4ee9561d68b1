import { type Effect, type Fail, RETRY } from "./effects.ts";
import type { Step } from "./repertoire.ts";

/** What the client must end up with. */
export type Outcome =
  | { readonly kind: "complete"; readonly text: string }
  | { readonly kind: "closed"; readonly text: string }
  | { readonly kind: "broken"; readonly outcomes: readonly string[]; readonly text: string }
  | { readonly kind: "error_after"; readonly errType: string; readonly text: string }
  /** an error answer before commit: its status, whether its body is Anthropic's envelope, the last attempt's outcome */
  | { readonly kind: "error"; readonly status: number; readonly envelope: boolean; readonly outcomes: readonly string[]; readonly why: string; readonly wall?: boolean };

export type Expectation =
  | { readonly determined: true; readonly attempts: number; readonly outcome: Outcome }
  /** the time budget decides, and the attempts' durations are too close to it to say how */
  | { readonly determined: false; readonly why: string };

/** When its script runs out, the fake upstream answers normally: "ok". */
export const NORMAL: Step = { label: "normal (script spent)", behaviour: { kind: "normal" }, effect: { kind: "complete", text: "ok" }, ms: [0, 600] };

/**
 * The attempt loop, as the contract says it behaves (README: what ccp retries), run over the
 * scripted steps: an answer or a committed stream ends the request; a retryable failure is
 * tried again while the lane's attempts last (overloads: while its time budget lasts) and the
 * back-off fits the budget; a retry-after over retry_after_max_ms goes to the client at once.
 * The budget is judged with each attempt's shortest and longest duration: when they disagree,
 * the sequence is undetermined and only the invariants are checked.
 */
export function expected(steps: readonly Step[]): Expectation {
  let lo = 0;
  let hi = 0;
  for (let i = 0; ; i++) {
    const step = steps[i] ?? NORMAL;
    const tries = i + 1;
    lo += step.ms[0];
    hi += step.ms[1];
    const e: Effect = step.effect;
    if (e.kind !== "fail") return { determined: true, attempts: tries, outcome: e };
    if (!e.retryable) return stop(tries, e, false, "not retryable");
    if (e.retryAfterMs !== undefined && e.retryAfterMs > RETRY.retry_after_max_ms) return stop(tries, e, false, "retry-after over the cap");
    if (!(tries < RETRY.attempts || (e.overload && RETRY.attempts > 1))) return stop(tries, e, true, "attempts spent");
    const waitLo = e.retryAfterMs ?? 0;
    const waitHi = e.retryAfterMs ?? Math.min(RETRY.cap_ms, RETRY.base_ms * 2 ** (tries - 1));
    if (hi + waitHi < RETRY.budget_ms) {
      lo += waitLo;
      hi += waitHi;
      continue;
    }
    if (lo + waitLo >= RETRY.budget_ms) return stop(tries, e, true, "budget spent");
    return { determined: false, why: `after attempt ${tries}, ${Math.round(lo)}–${Math.round(hi)} ms of a ${RETRY.budget_ms} ms budget` };
  }
}

/** ccp stops at a failed attempt: overloads outlasting the budget are 529 (the upstream's own 529 passed on); the rest as the attempt's answer or failure. */
function stop(attempts: number, e: Fail, exhausted: boolean, why: string): Expectation {
  const overloaded = exhausted && e.overload && !e.upstream529;
  const outcome: Outcome = overloaded
    ? { kind: "error", status: 529, envelope: true, outcomes: e.outcomes, why }
    : { kind: "error", status: e.status, envelope: e.envelope, outcomes: e.outcomes, why: e.wall ? "a quota wall" : why, wall: e.wall };
  return { determined: true, attempts, outcome };
}
