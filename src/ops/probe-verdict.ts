/** One completion of the probe, with what its usage line(s) said. */
export interface ProbeRow {
  readonly run: number;
  /** "main": --model; "also": --also, run alongside. */
  readonly role: "main" | "also";
  readonly model: string;
  /** HTTP status the request ended with (from its usage line), null when none matched. */
  readonly status: number | null;
  readonly lane: string | null;
  /** The protocol of the attempt that answered (usage/outcome.ts answeredOver): "h1", "h2", or "none" (no usage line, or nothing sent upstream). */
  readonly protocol: string;
  /** Legacy: the usage line's `h2` flag, kept in --json for the scripts that read it; `protocol` says the same in the vocabulary's word. */
  readonly h2: boolean | null;
  readonly ttft_ms: number | null;
  readonly duration_ms: number | null;
  readonly rid: string | null;
  /** Every status recorded for this run, upstream attempts included (ccp or Claude Code may retry: a 502 then a 200). */
  readonly statuses: readonly number[];
  /** What the client itself reported wrong, if anything. */
  readonly error: string | null;
}

export interface ProbeCriteria {
  readonly maxP50TtftMs: number;
  readonly expectLane?: string | undefined;
  /** --expect-protocol (or the older --expect-h2, mapped to it). */
  readonly expectProtocol?: "h1" | "h2" | undefined;
}

export interface Verdict {
  readonly pass: boolean;
  readonly p50_ttft_ms: number | null;
  /** Why it failed, one line each; empty on a pass. */
  readonly reasons: readonly string[];
}

/** Nearest-rank percentile (p in 0..100) of the values; null for none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * The acceptance criteria: every run answered 200 and no 502 was ever recorded, p50 ttft of
 * the main runs under the limit, and the expected lane and protocol on every main run.
 */
export function judge(rows: readonly ProbeRow[], c: ProbeCriteria): Verdict {
  const reasons: string[] = [];
  const label = (r: ProbeRow) => `run ${r.run}${r.role === "also" ? ` (--also ${r.model})` : ""}`;
  for (const r of rows) {
    if (r.status === null) reasons.push(`${label(r)}: no usage line matched${r.error ? ` (${r.error})` : ""}`);
    else if (r.status !== 200) reasons.push(`${label(r)}: status ${r.status}${r.error ? ` (${r.error})` : ""}`);
    else if (r.error) reasons.push(`${label(r)}: ${r.error}`);
    const bad = r.statuses.filter((s) => s === 502).length;
    if (bad && r.status !== 502) reasons.push(`${label(r)}: ${bad} upstream 502 recorded before it succeeded`);
  }
  const main = rows.filter((r) => r.role === "main");
  const ttfts = main.map((r) => r.ttft_ms).filter((t): t is number => t !== null);
  const p50 = percentile(ttfts, 50);
  if (p50 === null) reasons.push("no time to first token was measured");
  else if (p50 >= c.maxP50TtftMs) reasons.push(`p50 ttft ${p50} ms is not under the limit of ${c.maxP50TtftMs} ms`);
  if (c.expectLane !== undefined) {
    const off = main.filter((r) => r.lane !== c.expectLane);
    if (off.length) reasons.push(`expected lane ${c.expectLane}, got ${off.map((r) => `${r.lane ?? "none"} on run ${r.run}`).join(", ")}`);
  }
  if (c.expectProtocol !== undefined) {
    const off = main.filter((r) => r.protocol !== c.expectProtocol);
    if (off.length) reasons.push(`expected protocol ${c.expectProtocol}, got ${off.map((r) => `${r.protocol} on run ${r.run}`).join(", ")}`);
  }
  return { pass: reasons.length === 0, p50_ttft_ms: p50, reasons };
}
