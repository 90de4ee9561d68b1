import { resetsText } from "./desk.ts";
import type { Wall } from "./window.ts";

export interface LaneWall {
  readonly lane: string;
  readonly wall: Wall;
}

const WINDOW_WORDS: Record<string, string> = { "5h": "five-hour limit", "7d": "weekly limit", month_tools: "monthly tool allowance", overage: "extra usage (overage), which the lane blocks" };

/**
 * ccp's 429 when every lane of a model's route is at its plan's limit: each lane, its window
 * and when it resets. Pure. Said by ccp in its own words: an Anthropic `rejected` header set
 * would make Claude Code block every model, not just this route's.
 */
export function walledMessage(model: string | undefined, walls: readonly LaneWall[], now: number): string {
  const each = walls.map(({ lane, wall }) => `${lane}: ${WINDOW_WORDS[wall.window] ?? `${wall.window} limit`} reached (${wall.code}), ${resetsText(wall.resetsAt, now)}`);
  const whose = model ? `model "${model}"` : "this request";
  return `ccp: every lane for ${whose} is at its plan's limit: ${each.join("; ")}`;
}

/** Seconds until the first lane reopens (retry-after), or undefined when no provider said. */
export function reopensInS(walls: readonly LaneWall[], now: number): number | undefined {
  const resets = walls.map((w) => w.wall.resetsAt).filter((t): t is number => t !== null);
  if (resets.length === 0) return undefined;
  return Math.max(1, Math.ceil((Math.min(...resets) - now) / 1000));
}
