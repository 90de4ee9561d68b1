import type { Behaviour, RawEnd } from "../fake-upstream/index.ts";
import { type Effect, TIMEOUTS, type Transport } from "./effects.ts";
import { codePointBoundary, int, pick, type Placed, type Rnd } from "./sse.ts";

/**
 * The campaign's repertoire: every step is one upstream attempt, as the fake upstream is told
 * to play it (a Behaviour) and as ccp must take it (an Effect), with a one-line label for the
 * report and how long the attempt may take (for the model's time budget).
 */
export interface Step {
  readonly label: string;
  readonly behaviour: Behaviour;
  readonly effect: Effect;
  /** The attempt's duration, at least and at most (ms). */
  readonly ms: readonly [number, number];
  /** Shapes the known-bug list matches (fault-campaign.test.ts). */
  readonly tags?: readonly string[];
}

export interface StepCtx {
  readonly rnd: Rnd;
  /** case number and attempt index: they make each answer's text and ids unique */
  readonly n: number;
  readonly attempt: number;
  readonly stream: boolean;
  readonly transport: Transport;
  readonly model: string;
}

/** Slack on every attempt's duration: a loaded 2-core machine, the fake's flush waits. */
export const SLACK_MS = 600;
export const THENS: readonly RawEnd[] = ["end", "reset", "rst_stream", "goaway", "stall"];
/** RST_STREAM codes: INTERNAL_ERROR, REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM. */
export const RST_CODES = [2, 7, 8, 11] as const;

// ---------------------------------------------------------------- raw responses

export interface Wait {
  /** before the char at this offset (0: the first piece, after the head) */
  readonly at: number;
  readonly ms: number;
}

export interface RawSpec {
  readonly status: number;
  readonly headers: [string, string][];
  readonly body: string;
  readonly cut: number;
  readonly then: RawEnd;
  readonly waits?: readonly Wait[];
  readonly headersDelayMs?: number;
  readonly gzip?: boolean;
  /** where pieces may start (frame starts) */
  readonly starts?: readonly number[];
  /** the end (or cut) comes this long after the last piece */
  readonly endWaitMs?: number;
}

/** The fake upstream's raw behaviour for a body cut at `cut` chars, in pieces of a random shape, with waits between them. */
export function raw(c: StepCtx, s: RawSpec): { behaviour: Behaviour; shape: string; quietMs: number } {
  const { rnd } = c;
  const body = s.body.slice(0, s.cut);
  const shape = s.gzip ? "one" : pick(rnd, ["one", "frames", "frames", "random", body.length <= 4_000 ? "bytes" : "random"] as const);
  const points = new Set<number>();
  if (shape === "frames") for (const at of s.starts ?? []) points.add(at);
  if (shape === "random") for (let i = int(rnd, 1, 6); i > 0; i--) points.add(codePointBoundary(body, int(rnd, 1, Math.max(1, body.length - 1))));
  const waits = (s.waits ?? []).filter((w) => w.at < s.cut || (w.at === 0 && s.cut === 0));
  for (const w of waits) points.add(w.at);
  const cuts = [...points].filter((p) => p > 0 && p < body.length).sort((a, b) => a - b);
  const bounds = [0, ...cuts, body.length];
  const pieces = body.length === 0 ? [] : bounds.slice(0, -1).map((from, i) => body.slice(from, bounds[i + 1]));
  const waitAt = (at: number) => waits.filter((w) => w.at === at).reduce((n, w) => n + w.ms, 0);
  const pieceWaits = body.length === 0 ? [] : bounds.slice(0, -1).map(waitAt);
  if (s.endWaitMs) {
    pieces.push("");
    pieceWaits.push(s.endWaitMs);
  }
  const code = s.then === "rst_stream" ? pick(rnd, RST_CODES) : undefined;
  const behaviour: Behaviour = {
    kind: "raw",
    status: s.status,
    headers: s.headers,
    pieces,
    ...(pieceWaits.some((w) => w > 0) ? { waits: pieceWaits } : {}),
    ...(s.headersDelayMs ? { headersDelayMs: s.headersDelayMs } : {}),
    ...(shape === "bytes" ? { chunkBytes: 1 } : {}),
    ...(s.gzip ? { gzip: true } : {}),
    then: s.then,
    ...(code !== undefined ? { code } : {}),
  };
  const quietMs = pieceWaits.reduce((n, w) => n + w, 0) + (s.headersDelayMs ?? 0);
  return { behaviour, shape: `${shape}${code !== undefined ? ` code ${code}` : ""}`, quietMs };
}

/** How long an attempt takes: its scripted waits, plus idle_ms when it ends in silence, plus slack. */
export function duration(quietMs: number, then: RawEnd, effect: Effect): readonly [number, number] {
  const silent = then === "stall" ? TIMEOUTS.idle_ms : 0;
  // A stall that ends an attempt ends it after idle_ms; one after a whole answer may or may not be waited for.
  const least = effect.kind === "fail" || effect.kind === "broken" ? silent : 0;
  return [quietMs + least, quietMs + silent + SLACK_MS];
}

/** A cut offset in [lo, hi]: often on a frame boundary or one char before it, else anywhere (whole code points). */
export function chooseCut(rnd: Rnd, body: string, placed: readonly Placed[], lo: number, hi: number): number {
  if (hi <= lo) return lo;
  const marks = placed.flatMap((f) => [f.start, f.end, f.end - 1, f.dispatch]).filter((m) => m >= lo && m <= hi);
  const at = marks.length > 0 && rnd() < 0.45 ? pick(rnd, marks) : int(rnd, lo, hi);
  const moved = codePointBoundary(body, at);
  return moved <= hi ? moved : at - 1;
}
