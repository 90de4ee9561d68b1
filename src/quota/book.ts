import type { QuotaWindow, Wall } from "./window.ts";

/** How long a wall whose provider named no reset time is held (then a request tries the lane again). */
export const DEFAULT_WALL_MS = 60_000;
/** The furthest reset believed (a monthly window and then some): a later one is read as "not said". */
const MAX_RESET_AHEAD_MS = 40 * 86_400_000;
/** Windows kept per plan (a provider names a handful). */
const MAX_WINDOWS = 16;

export interface Overage {
  readonly inUse: boolean;
  readonly status: string | null;
  readonly utilization: number | null;
  readonly resetsAt: number | null;
  readonly disabledReason: string | null;
}

/** What ccp knows of one plan: a lane, and on a passthrough lane one client credential (hashed). */
export interface PlanState {
  readonly lane: string;
  /** "lane" for a lane's own key; "client:<hash>" for a passthrough client's credential (never the credential). */
  readonly credential: string;
  readonly windows: ReadonlyMap<string, QuotaWindow>;
  readonly wall: (Wall & { readonly at: number }) | undefined;
  readonly overage: Overage | undefined;
  readonly updatedAt: number;
}

interface Mutable {
  lane: string;
  credential: string;
  windows: Map<string, QuotaWindow>;
  wall: (Wall & { at: number }) | undefined;
  overage: Overage | undefined;
  updatedAt: number;
}

/**
 * The latest quota readings, per lane and credential: what steering reads before a request and
 * what `GET /quota`, `ccp quota`, the status line and the metrics show. Walls lapse at their reset.
 * Memory is bounded: at most `maxPlans` plans, the least recently updated dropped first.
 */
export class QuotaBook {
  readonly #plans = new Map<string, Mutable>();

  constructor(
    readonly now: () => number = Date.now,
    readonly maxPlans = 1000,
  ) {}

  #plan(lane: string, credential: string): Mutable {
    const key = `${lane}\u0000${credential}`;
    let p = this.#plans.get(key);
    if (p) this.#plans.delete(key);
    else p = { lane, credential, windows: new Map(), wall: undefined, overage: undefined, updatedAt: 0 };
    this.#plans.set(key, p);
    if (this.#plans.size > this.maxPlans) this.#plans.delete(this.#plans.keys().next().value!);
    p.updatedAt = this.now();
    return p;
  }

  /** New readings of some windows (the others keep theirs). */
  record(lane: string, credential: string, readings: readonly QuotaWindow[]): void {
    const p = this.#plan(lane, credential);
    const windows = readings.map((w) => ({ ...w, resetsAt: this.#believable(w.resetsAt) }));
    for (const w of windows) if (p.windows.has(w.window) || p.windows.size < MAX_WINDOWS) p.windows.set(w.window, w);
    // A reading that says the walled window is open again ends the wall.
    if (p.wall && windows.some((w) => w.window === p.wall!.window && w.status !== "rejected" && (w.utilization ?? 0) < 1)) p.wall = undefined;
  }

  /** A reset time within reach, or null: a window said to reset in 2099 would keep a lane walled for good. */
  #believable(resetsAt: number | null): number | null {
    return resetsAt !== null && resetsAt - this.now() <= MAX_RESET_AHEAD_MS ? resetsAt : null;
  }

  wall(lane: string, credential: string, said: Wall): void {
    const p = this.#plan(lane, credential);
    const wall = { ...said, resetsAt: this.#believable(said.resetsAt) };
    p.wall = { ...wall, at: this.now() };
    const known = p.windows.get(wall.window);
    p.windows.set(wall.window, {
      window: wall.window,
      utilization: known?.utilization ?? 1,
      resetsAt: wall.resetsAt ?? known?.resetsAt ?? null,
      status: "rejected",
      source: "wall",
      readAt: this.now(),
    });
  }

  overage(lane: string, credential: string, overage: Overage): void {
    this.#plan(lane, credential).overage = overage;
  }

  /** The wall in force for this plan, or undefined (it lapsed at its reset). */
  walled(lane: string, credential: string): Wall | undefined {
    const w = this.#plans.get(`${lane}\u0000${credential}`)?.wall;
    if (!w) return undefined;
    const until = w.resetsAt ?? w.at + DEFAULT_WALL_MS;
    return this.now() < until ? w : undefined;
  }

  /** A window of this plan used at or past `threshold` (a fraction) that has not reset yet. */
  over(lane: string, credential: string, threshold: number): QuotaWindow | undefined {
    const p = this.#plans.get(`${lane}\u0000${credential}`);
    if (!p) return undefined;
    const now = this.now();
    for (const w of p.windows.values()) {
      if (w.utilization !== null && w.utilization >= threshold && (w.resetsAt === null || w.resetsAt > now)) return w;
    }
    return undefined;
  }

  /** Every plan, most recently updated last. */
  plans(): PlanState[] {
    return [...this.#plans.values()].map((p) => ({ ...p, windows: new Map(p.windows), wall: this.walled(p.lane, p.credential) ? p.wall : undefined }));
  }
}
