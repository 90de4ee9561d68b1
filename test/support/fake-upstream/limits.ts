// Provider-side concurrency (POST /limits): beyond maxConcurrent streams in flight, a messages
// request is answered the Z.ai way, HTTP 200 then at once an in-stream [1302] error.

import type { Behaviour } from "./protocol.ts";

export interface LimitsBody {
  maxConcurrent?: number;
  delayMs?: number;
  settleMs?: number;
}

/** Provider-side concurrency limit (POST /limits); 0 = unlimited. */
const limits = { maxConcurrent: 0, delayMs: 0, settleMs: 1000, rejected: 0, peak: 0, firstRejectAt: 0, peakSeenAfterSettle: 0, rejectedAfterSettle: 0 };
let activeStreams = 0;
let seenInFlight = 0;
const BURST_MESSAGE = "[1302] High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits";
const BURST_FRAME = `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: BURST_MESSAGE } })}\n\n`;

export function setLimits(body: LimitsBody): void {
  Object.assign(limits, {
    maxConcurrent: body.maxConcurrent ?? 0,
    delayMs: body.delayMs ?? 0,
    settleMs: body.settleMs ?? 1000,
    rejected: 0,
    peak: 0,
    firstRejectAt: 0,
    peakSeenAfterSettle: 0,
    rejectedAfterSettle: 0,
  });
}

export function limitStats(): typeof limits {
  return limits;
}

type Normal = Extract<Behaviour, { kind: "normal" }>;

/**
 * A provider that admits only so many concurrent streams answers the rest the Z.ai way:
 * HTTP 200, then at once an in-stream error with code 1302 and no message_start.
 */
export function admit(res: { once(event: "close" | "finish", fn: () => void): unknown }, behaviour: Normal): Behaviour {
  if (limits.maxConcurrent <= 0) return behaviour;
  // What the provider sees: every request in flight, refused ones included; once the
  // gateway had time to adapt (settleMs after the first refusal), the most of them at once.
  // In flight until answered: a refusal the provider finished writing counts no more, even if the
  // connection's close event comes later (it does, on a machine busy starting a dozen clients).
  seenInFlight++;
  let counted = true;
  const done = () => {
    if (counted) seenInFlight--;
    counted = false;
  };
  res.once("finish", done);
  res.once("close", done);
  const settled = limits.firstRejectAt > 0 && Date.now() - limits.firstRejectAt > limits.settleMs;
  if (settled) limits.peakSeenAfterSettle = Math.max(limits.peakSeenAfterSettle, seenInFlight);
  if (activeStreams >= limits.maxConcurrent) {
    limits.rejected++;
    if (settled) limits.rejectedAfterSettle++;
    if (limits.firstRejectAt === 0) limits.firstRejectAt = Date.now();
    return { kind: "sse", frames: BURST_FRAME };
  }
  activeStreams++;
  limits.peak = Math.max(limits.peak, activeStreams);
  res.once("close", () => activeStreams--);
  if (limits.delayMs > 0 && behaviour.delayMs === undefined) return { ...behaviour, delayMs: limits.delayMs };
  return behaviour;
}
