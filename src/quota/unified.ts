import type { QuotaWindow, Wall } from "./window.ts";
import { statusOf } from "./window.ts";

/**
 * Anthropic's subscription headers (CLAUDE-CODE-GATEWAY.md §3), pure:
 * `anthropic-ratelimit-unified-<window>-{utilization,reset,status,surpassed-threshold}` per
 * window (5h, 7d, and model-specific weekly ones), the overall `-status`, `-reset` and
 * `-representative-claim`, and the `-overage-*` family. Utilization is a fraction; resets are
 * epoch seconds.
 */
const PREFIX = "anthropic-ratelimit-unified-";
const WINDOW_NAME = /^[a-z0-9_]{1,32}$/;
const MAX_WINDOWS = 12;
const FIELDS = ["utilization", "reset", "status", "surpassed-threshold", "in-use", "disabled-reason"] as const;
/** The representative claim names a window in words; the headers name it in short. */
const CLAIM_WINDOW: Record<string, string> = { five_hour: "5h", seven_day: "7d", seven_day_opus: "7d_opus", seven_day_sonnet: "7d_sonnet" };

export interface Unified {
  readonly windows: QuotaWindow[];
  readonly overage:
    | { readonly inUse: boolean; readonly status: string | null; readonly utilization: number | null; readonly resetsAt: number | null; readonly disabledReason: string | null }
    | undefined;
  /** The whole plan refused (status rejected), with the window that binds. */
  readonly wall: Wall | undefined;
}

const num = (v: string | undefined): number | null => {
  if (v === undefined || v.trim() === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};
const epochMs = (v: string | undefined): number | null => {
  const n = num(v);
  return n === null ? null : n * 1000;
};

/** A provider's word as ccp shows it (/quota, the dashboard, ccp quota): no control characters, at most 64 characters. */
const plain = (v: string | undefined): string | null => (v === undefined ? null : v.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "").slice(0, 64));

/**
 * Whether the unified headers refuse the request: the overall status or any window's says
 * `rejected`. The one definition of a subscription's wall: classify reads it to stop retrying
 * a 429, the quota desk to hold the lane (a 2xx with a rejected window is overage serving it).
 */
export function planRejected(headers: ReadonlyArray<readonly [string, string]>): boolean {
  return headers.some(([k, v]) => k.startsWith(PREFIX) && k.endsWith("-status") && /^(?:[a-z0-9_]+-)?status$/.test(k.slice(PREFIX.length)) && v.trim().toLowerCase() === "rejected");
}

/** Undefined when the answer carries no unified header (not subscription traffic). */
export function parseUnified(headers: ReadonlyArray<readonly [string, string]>, now: number): Unified | undefined {
  const all = new Map<string, string>();
  for (const [k, v] of headers) if (k.startsWith(PREFIX)) all.set(k.slice(PREFIX.length), v);
  if (all.size === 0) return undefined;
  const perWindow = new Map<string, Map<string, string>>();
  for (const [rest, v] of all) {
    const field = FIELDS.find((f) => rest.endsWith(`-${f}`));
    if (!field) continue;
    const window = rest.slice(0, -(field.length + 1));
    // Window names become metric labels and book entries: plain and few, whatever an upstream sends.
    if (!WINDOW_NAME.test(window) || (!perWindow.has(window) && perWindow.size >= MAX_WINDOWS)) continue;
    if (!perWindow.has(window)) perWindow.set(window, new Map());
    perWindow.get(window)!.set(field, v);
  }
  const windows: QuotaWindow[] = [];
  for (const [window, f] of perWindow) {
    if (window === "overage") continue;
    windows.push({ window, utilization: num(f.get("utilization")), resetsAt: epochMs(f.get("reset")), status: statusOf(f.get("status")), source: "headers", readAt: now });
  }
  const o = perWindow.get("overage");
  const overage = o
    ? {
        inUse: o.get("in-use") === "true",
        status: plain(o.get("status")),
        utilization: num(o.get("utilization")),
        resetsAt: epochMs(o.get("reset")),
        disabledReason: plain(o.get("disabled-reason")),
      }
    : undefined;
  const claim = all.get("representative-claim");
  const binding = claim ? (CLAIM_WINDOW[claim] ?? (WINDOW_NAME.test(claim) ? claim : "other")) : (windows.find((w) => w.status === "rejected")?.window ?? "5h");
  const wall = planRejected(headers) ? { window: binding, resetsAt: epochMs(all.get("reset")) ?? windows.find((w) => w.window === binding)?.resetsAt ?? null, code: "rejected" } : undefined;
  return { windows, overage, wall };
}
