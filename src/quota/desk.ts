import type { Config, Lane } from "../config/config.ts";
import { SseParser } from "../sse/parser.ts";
import { DEFAULT_WALL_MS, QuotaBook } from "./book.ts";
import { credentialId } from "./credential.ts";
import { steer, type Standing, type Steered } from "./steer.ts";
import { parseUnified } from "./unified.ts";
import type { Wall } from "./window.ts";
import { zaiWall } from "./zai.ts";

type Headers2 = ReadonlyArray<readonly [string, string]>;

/** The route a request's model matched, as steering reads it. */
export interface Chain {
  readonly lanes: readonly string[];
  readonly threshold: number;
  /** The model the client asked for, when known: a model-specific window (7d_opus) binds only its own models. */
  readonly model?: string | undefined;
}

/**
 * The request path's view of the plans: which credential a request spends on each lane, where
 * to send it (steer), and what each upstream answer says of the plan (observe). Holds the
 * QuotaBook that GET /quota, the metrics and the status line read.
 */
export class QuotaDesk {
  readonly book: QuotaBook;
  /** Walls met, by lane and window (ccp_quota_walls_total): at most MAX_WALL_SERIES, the rest counted as window "other". */
  readonly walls = new Map<string, number>();
  readonly #warned = new Set<string>();

  constructor(
    readonly lanes: Readonly<Record<string, Lane>>,
    readonly warn: (message: string) => void,
    readonly clock: () => number = Date.now,
  ) {
    this.book = new QuotaBook(clock);
  }

  static of(config: Pick<Config, "lanes">, warn: (m: string) => void, clock?: () => number): QuotaDesk {
    return new QuotaDesk(config.lanes, warn, clock);
  }

  credential(lane: Lane, headers: Headers): string {
    return credentialId(lane.auth, headers);
  }

  /**
   * A plan refuses when it is walled, or when its lane blocks overage and overage is in use.
   * `model`, when known, leaves out a model-specific window (7d_opus) that binds other models.
   */
  standing(lane: Lane, credential: string, threshold: number, model?: string): Standing {
    const wall = this.book.walled(lane.name, credential, model) ?? this.#overageBlock(lane, credential);
    return { wall, over: this.book.over(lane.name, credential, threshold, model) };
  }

  /** Overage the lane blocks: until the overage resets, or DEFAULT_WALL_MS after the last reading that said it is in use. */
  #overageBlock(lane: Lane, credential: string): Wall | undefined {
    if (lane.overage !== "block") return undefined;
    const o = this.book.overageOf(lane.name, credential);
    if (!o?.inUse || this.clock() >= (o.resetsAt ?? o.readAt + DEFAULT_WALL_MS)) return undefined;
    return { window: "overage", resetsAt: o.resetsAt, code: "overage_blocked" };
  }

  /**
   * Where a request with these headers goes, never to a lane in `skip` (tried already); without
   * headers (the status line asking), each lane's most recently seen plan.
   */
  steer(chain: Chain, headers: Headers | undefined, skip?: ReadonlySet<string>): Steered {
    const lanes = skip ? chain.lanes.filter((l) => !skip.has(l)) : chain.lanes;
    if (lanes.length === 0) return { kind: "walled", walls: [] };
    return steer(lanes, (name) => {
      const lane = this.lanes[name]!;
      return this.standing(lane, headers ? this.credential(lane, headers) : this.latestCredential(lane), chain.threshold, chain.model);
    });
  }

  /** The credential of the lane's most recently updated plan ("lane" for a keyed lane). */
  latestCredential(lane: Lane): string {
    if (lane.auth === "key") return "lane";
    return this.book.plans().findLast((p) => p.lane === lane.name)?.credential ?? "client:none";
  }

  /** When each lane last answered (the poller asks only lanes with recent traffic). */
  readonly lastTraffic = new Map<string, number>();

  /** The quota endpoint poll's state per lane (set by the poller). */
  readonly polls = new Map<string, "ok" | "idle" | "failing">();

  /** What an upstream answer says of its plan: the unified headers, and a wall in an error body. */
  observe(lane: Lane, credential: string, status: number, headers: Headers2, body: string | undefined): void {
    const now = this.clock();
    this.lastTraffic.set(lane.name, now);
    const unified = parseUnified(headers, now);
    if (unified) {
      this.book.record(lane.name, credential, unified.windows);
      if (unified.overage) {
        this.book.overage(lane.name, credential, unified.overage);
        if (unified.overage.inUse) this.#overageInUse(lane, credential, unified.overage.resetsAt);
      }
    }
    if (body !== undefined && wallAnswer(status, body)) {
      const wall = (status === 429 ? unified?.wall : undefined) ?? zaiWall(body);
      if (wall) this.hitWall(lane, credential, wall);
    }
  }

  /** Told of every wall an answer showed (the fleet shares the walls of lanes' own keys). */
  readonly wallListeners: ((lane: Lane, credential: string, wall: Wall) => void)[] = [];

  hitWall(lane: Lane, credential: string, wall: Wall): void {
    const known = this.book.walled(lane.name, credential);
    for (const listen of this.wallListeners) listen(lane, credential, wall);
    this.book.wall(lane.name, credential, wall);
    let key = `${lane.name}\u0000${wall.window}`;
    if (!this.walls.has(key) && this.walls.size >= MAX_WALL_SERIES) key = `${lane.name}\u0000other`;
    this.walls.set(key, (this.walls.get(key) ?? 0) + 1);
    if (!known) this.warn(`lane ${lane.name}: plan limit reached (${wall.window}, ${wall.code}); ${resetsText(wall.resetsAt, this.clock())}`);
  }

  /** A plan's overage window first seen in use (once per credential and window), by lane (ccp_overage_windows_total). */
  readonly overageWindows = new Map<string, number>();

  /** Once per credential and overage window: counted, and logged unless the lane allows overage. */
  #overageInUse(lane: Lane, credential: string, resetsAt: number | null): void {
    const key = `${lane.name}\u0000${credential}\u0000${resetsAt}`;
    if (this.#warned.has(key)) return;
    if (this.#warned.size > 10_000) this.#warned.clear();
    this.#warned.add(key);
    this.overageWindows.set(lane.name, (this.overageWindows.get(lane.name) ?? 0) + 1);
    if (lane.overage === "allow") return;
    const what = lane.overage === "block" ? "ccp now answers its requests with an error (overage = block)" : 'set overage = "block" on the lane to stop it';
    this.warn(`lane ${lane.name}: the plan is using extra usage (overage), billed beyond the subscription; ${what}`);
  }
}

/** Series of ccp_quota_walls_total (lane and window): a provider naming ever new windows adds none past it. */
const MAX_WALL_SERIES = 256;

/**
 * Only a rate-limit answer can be a wall: a 429, or in a 2xx an error frame whose own fields say
 * so (error.type rate_limit_error, or Z.ai's wall code as error.code or error.type), as classify
 * reads them. An error that merely quotes the client's words ("[1308] ... reset at 2099") in its
 * message must not let one client wall a lane that others share.
 */
export function wallAnswer(status: number, body: string): boolean {
  if (status === 429) return true;
  if (status >= 300) return false;
  // The body is one JSON error, or the head of an event stream: each event's data (its data lines joined) is a frame.
  const frames = /^\s*\{/.test(body) ? [body] : new SseParser().push(new TextEncoder().encode(`${body}\n\n`)).map((e) => e.data);
  return frames.some((f) => {
    const err = (safeJson(f) as { error?: { type?: unknown; code?: unknown } } | undefined)?.error;
    if (typeof err !== "object" || err === null) return false;
    return err.type === "rate_limit_error" || [err.type, err.code].some((v) => typeof v !== "object" && /^(1308|1310)$/.test(String(v)));
  });
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** "resets at 2026-12-05T03:00:00Z (in 2h10m)", or that the provider did not say. */
export function resetsText(resetsAt: number | null, now: number): string {
  if (resetsAt === null) return "the provider did not say when it resets";
  return `resets at ${new Date(resetsAt).toISOString().replace(/\.\d{3}Z$/, "Z")} (in ${span(resetsAt - now)})`;
}

/** A duration as people read it: 45s, 12m, 2h10m, 4d3h. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}
