import type { PlanBody, QuotaBody, WindowBody } from "../ops/quota-body.ts";

/**
 * How quota readings read on a terminal and in Claude Code's status line: durations, used
 * percentages, ages, and which plan of a lane stands for it. Pure, and free of chalk and
 * commander: `ccp statusline` loads it on its fast path.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration as people read it: 45s, 12m, 2h10m, 4d3h (the smaller unit dropped when it is 0). */
export function span(ms: number): string {
  const t = Math.max(0, ms);
  if (t < MINUTE) return `${Math.floor(t / 1000)}s`;
  if (t < HOUR) return `${Math.floor(t / MINUTE)}m`;
  if (t < DAY) {
    const m = Math.floor((t % HOUR) / MINUTE);
    return `${Math.floor(t / HOUR)}h${m ? `${m}m` : ""}`;
  }
  const h = Math.floor((t % DAY) / HOUR);
  return `${Math.floor(t / DAY)}d${h ? `${h}h` : ""}`;
}

/** Time until a reset: "2h10m"; "-" when the provider did not say; "now" once it has passed. */
export function resetsIn(resetsAt: number | null, now: number): string {
  if (resetsAt === null) return "-";
  return resetsAt <= now ? "now" : span(resetsAt - now);
}

/** Age of a reading: "12s ago". */
export const ago = (readAt: number, now: number): string => `${span(now - readAt)} ago`;

/** A used fraction (0..1, may exceed 1) as a whole percentage: "42%", "112%"; "-" when unknown. */
export function percent(utilization: number | null): string {
  if (utilization === null || !Number.isFinite(utilization)) return "-";
  return `${Math.round(utilization * 100)}%`;
}

/** How worrying a window's use is: its status first, else its fraction (70% and 90% marks). */
export function level(w: Pick<WindowBody, "utilization" | "status">): "ok" | "warn" | "bad" {
  if (w.status === "rejected" || (w.utilization ?? 0) >= 0.9) return "bad";
  if (w.status === "allowed_warning" || (w.utilization ?? 0) >= 0.7) return "warn";
  return "ok";
}

/** When a plan was last read: its newest window reading (0 without any). */
const lastRead = (p: PlanBody) => Math.max(0, ...p.windows.map((w) => w.read_at));

/**
 * The plan that speaks for a lane: of its credentials, the one read most recently (the one
 * traffic uses now, as ccp's own steering assumes without a request in hand); undefined for a
 * lane the body does not list.
 */
export function lanePlan(body: Pick<QuotaBody, "plans">, lane: string): PlanBody | undefined {
  let best: PlanBody | undefined;
  for (const p of body.plans) if (p.lane === lane && (best === undefined || lastRead(p) > lastRead(best))) best = p;
  return best;
}

/** A plan's reading of one window ("5h", "7d"), if it has one. */
export const windowOf = (plan: PlanBody | undefined, name: string): WindowBody | undefined => plan?.windows.find((w) => w.window === name);

/** A lane's 5-hour and weekly use as one cell: "42% / 13%" ("-" for a window without a reading); "-" when neither has one. */
export function shortUse(plan: PlanBody | undefined): string {
  const five = windowOf(plan, "5h");
  const week = windowOf(plan, "7d");
  if (!five && !week) return "-";
  return `${percent(five?.utilization ?? null)} / ${percent(week?.utilization ?? null)}`;
}

/** What `ccp status` marks on a lane's row, read from the plan that speaks for the lane (as its quota column). */
export interface LaneMarks {
  /** The plan refuses requests now (a wall, or overage the lane blocks). */
  readonly walled: boolean;
  /** When it opens again (epoch ms); null when not walled or the provider did not say. */
  readonly wall_resets_at: number | null;
  /** The plan's answers say extra usage (overage) is being billed. */
  readonly overage_in_use: boolean;
}

export function laneMarks(plan: PlanBody | undefined, now: number): LaneMarks {
  const walled = plan?.state === "walled";
  const wall = plan?.wall;
  // A wall past its reset no longer holds the lane: then it is the blocked overage that does.
  const resetsAt = !walled ? null : wall && (wall.resets_at === null || wall.resets_at > now) ? wall.resets_at : (plan?.overage?.resets_at ?? null);
  return { walled, wall_resets_at: resetsAt, overage_in_use: plan?.overage?.in_use === true };
}

const same = (s: string) => s;

/** The marks as words: "walled ↻45m" ("walled" when the reset is unknown), "overage"; none when neither holds. */
export function marksText(m: LaneMarks, now: number, paint: { readonly bad: (s: string) => string; readonly warn: (s: string) => string } = { bad: same, warn: same }): string[] {
  const out: string[] = [];
  if (m.walled) out.push(paint.bad(m.wall_resets_at === null ? "walled" : `walled ↻${resetsIn(m.wall_resets_at, now)}`));
  if (m.overage_in_use) out.push(paint.warn("overage"));
  return out;
}
