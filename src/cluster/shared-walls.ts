import type { Lane } from "../config/config.ts";
import { DEFAULT_WALL_MS } from "../quota/book.ts";
import type { QuotaDesk } from "../quota/desk.ts";
import type { SharedWall } from "./fleet.ts";

/**
 * Plan walls shared by the fleet. Only the walls of a lane's own key ("lane" credential) are:
 * that key is what the instances share, whereas a passthrough client's credential is hashed with a
 * salt of each process's own and is that client's plan, not the fleet's.
 */
export function wallToShare(credential: string, wall: { window: string; resetsAt: number | null; code: string }, now: number): SharedWall | undefined {
  if (credential !== "lane") return undefined;
  return { window: wall.window, resetsAt: wall.resetsAt, code: wall.code, until: wall.resetsAt ?? now + DEFAULT_WALL_MS };
}

/**
 * Walls other instances met, put in this instance's book (held until the same moment as
 * theirs: a wall without a reset time is held to the publisher's default hold). A wall the book
 * already holds is left alone. Returns the walls that were new here.
 */
export function applySharedWalls(desk: QuotaDesk, lane: Lane, walls: readonly SharedWall[]): SharedWall[] {
  const fresh: SharedWall[] = [];
  for (const w of walls) {
    if (w.until <= desk.clock()) continue;
    const held = desk.book.walled(lane.name, "lane");
    if (held && held.window === w.window) continue;
    desk.book.wall(lane.name, "lane", { window: w.window, resetsAt: w.resetsAt ?? w.until, code: w.code });
    fresh.push(w);
  }
  return fresh;
}
