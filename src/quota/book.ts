import type { QuotaWindow, Wall } from "./window.ts";

/**
 * How long a wall, or overage a lane blocks, is held when the provider named no reset time
 * that can be believed (none, one already past, one years away): then a request tries again.
 */
export const DEFAULT_WALL_MS = 60_000;
/** The furthest reset believed (a monthly window and then some): a later one is read as "not said". */
export const MAX_RESET_AHEAD_MS = 40 * 86_400_000;
/** Windows kept per plan (a provider names a handful). */
const MAX_WINDOWS = 16;

export interface Overage {
  readonly inUse: boolean;
  readonly status: string | null;
  readonly utilization: number | null;
  readonly resetsAt: number | null;
  readonly disabledReason: string | null;
}

/** Overage as the book keeps it: when it was read, so a block without a believable reset is held for a bounded time. */
export type OverageReading = Overage & { readonly readAt: number };

/**
 * The model family a window is limited to ("7d_opus" → "opus"), or undefined for a window of
 * the whole plan. A model-specific window at its limit says nothing of the plan's other models.
 */
export const windowFamily = (window: string): string | undefined => /^\d+[a-z]+_([a-z][a-z0-9]*)$/.exec(window)?.[1];

/** Whether a window binds a request for `model` (every window binds when the model is not known). */
export const bindsModel = (window: string, model: string | undefined): boolean => {
  const family = windowFamily(window);
  return family === undefined || model === undefined || model.toLowerCase().includes(family);
};

/** What ccp knows of one plan: a lane, and on a passthrough lane one client credential (hashed). */
export interface PlanState {
  readonly lane: string;
  /** "lane" for a lane's own key; "client:<hash>" for a passthrough client's credential (never the credential). */
  readonly credential: string;
  readonly windows: ReadonlyMap<string, QuotaWindow>;
  readonly wall: HeldWall | undefined;
  readonly overage: OverageReading | undefined;
  readonly updatedAt: number;
}

/** A wall as the book holds it: when it was hit, and until when it stands. */
export type HeldWall = Wall & { readonly at: number; readonly until: number };

interface Mutable {
  lane: string;
  credential: string;
  windows: Map<string, QuotaWindow>;
  wall: HeldWall | undefined;
  overage: OverageReading | undefined;
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

  /** A reset still ahead and within reach, or null: a wall said to have reset already would not stop the very next request. */
  #ahead(resetsAt: number | null): number | null {
    const believed = this.#believable(resetsAt);
    return believed !== null && believed > this.now() ? believed : null;
  }

  /**
   * A wall an answer hit: it stands until its reset, or for DEFAULT_WALL_MS when no believable
   * reset was said; its window reads as used up until the same time, never for good.
   */
  wall(lane: string, credential: string, said: Wall): void {
    const p = this.#plan(lane, credential);
    const now = this.now();
    const resetsAt = this.#ahead(said.resetsAt);
    const until = resetsAt ?? now + DEFAULT_WALL_MS;
    p.wall = { ...said, resetsAt, at: now, until };
    const known = p.windows.get(said.window);
    if (!known && p.windows.size >= MAX_WINDOWS) return;
    const knownReset = known?.resetsAt != null && known.resetsAt > now ? known.resetsAt : null;
    p.windows.set(said.window, { window: said.window, utilization: known?.utilization ?? 1, resetsAt: resetsAt ?? knownReset ?? until, status: "rejected", source: "wall", readAt: now });
  }

  overage(lane: string, credential: string, overage: Overage): void {
    this.#plan(lane, credential).overage = { ...overage, resetsAt: this.#ahead(overage.resetsAt), readAt: this.now() };
  }

  /** The latest overage reading of this plan. */
  overageOf(lane: string, credential: string): OverageReading | undefined {
    return this.#plans.get(`${lane}\u0000${credential}`)?.overage;
  }

  /** The wall in force for this plan (for a request of `model`, when known), or undefined: it lapsed, or binds other models. */
  walled(lane: string, credential: string, model?: string): HeldWall | undefined {
    const w = this.#plans.get(`${lane}\u0000${credential}`)?.wall;
    return w && this.now() < w.until && bindsModel(w.window, model) ? w : undefined;
  }

  /** A window of this plan used at or past `threshold` (a fraction) that has not reset yet and binds `model`. */
  over(lane: string, credential: string, threshold: number, model?: string): QuotaWindow | undefined {
    const p = this.#plans.get(`${lane}\u0000${credential}`);
    if (!p) return undefined;
    const now = this.now();
    for (const w of p.windows.values()) {
      if (w.utilization !== null && w.utilization >= threshold && (w.resetsAt === null || w.resetsAt > now) && bindsModel(w.window, model)) return w;
    }
    return undefined;
  }

  /** Every plan, most recently updated last. */
  plans(): PlanState[] {
    return [...this.#plans.values()].map((p) => ({ ...p, windows: new Map(p.windows), wall: this.walled(p.lane, p.credential) ? p.wall : undefined }));
  }
}
