/**
 * A plan's usage window as ccp knows it: from Anthropic's unified rate-limit headers, from a
 * provider's quota endpoint (Z.ai), or from a wall an answer hit. CLAUDE-CODE-GATEWAY.md §3, §4.
 */
export type WindowStatus = "allowed" | "allowed_warning" | "rejected" | "unknown";
export type QuotaSource = "headers" | "endpoint" | "wall";

export interface QuotaWindow {
  /** "5h", "7d", "7d_opus", "month", "overage"...: the provider's own name, or the nearest one. */
  readonly window: string;
  /** Used fraction, 0..1 (may exceed 1); null when unknown. */
  readonly utilization: number | null;
  /** When the window resets, epoch ms; null when unknown. */
  readonly resetsAt: number | null;
  readonly status: WindowStatus;
  readonly source: QuotaSource;
  /** When ccp read it, epoch ms. */
  readonly readAt: number;
}

/** A wall: the lane refuses this credential until the window resets. */
export interface Wall {
  readonly window: string;
  /** Epoch ms; null when the provider did not say (then the wall is held for a default time). */
  readonly resetsAt: number | null;
  /** The provider's code (1308, 1310) or "rejected" for Anthropic's unified status. */
  readonly code: string;
}

export const statusOf = (v: string | undefined): WindowStatus => (v === "allowed" || v === "allowed_warning" || v === "rejected" ? v : "unknown");
