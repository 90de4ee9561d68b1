import type { Lane } from "../config/config.ts";
import type { LaneLive } from "../server/live.ts";
import type { BunConn } from "../upstream/bun-socket.ts";
import { dialH1, H1Transport } from "../upstream/h1.ts";
import { dialH2, H2Transport } from "../upstream/h2.ts";
import type { Transport } from "../upstream/transport.ts";
import { trustedRoots } from "../upstream/trusted-roots.ts";
import { AdaptiveLimiter } from "./limiter.ts";

/**
 * A lane at run time: its transports (created on first use), the HTTP/2 cool-down of an
 * `auto` lane, and its concurrency limiter. The attempt loop asks it which transport to use.
 */
export class LaneRuntime {
  readonly limiter: AdaptiveLimiter | undefined;
  #h1: H1Transport | undefined;
  #h2: H2Transport | undefined;
  #h2DisabledUntil = 0;
  readonly #ca: readonly string[] | undefined;

  constructor(
    readonly lane: Lane,
    readonly live: LaneLive,
  ) {
    this.#ca = trustedRoots(lane.ca_file);
    this.limiter = lane.max_concurrency > 0 ? new AdaptiveLimiter(lane.max_concurrency, lane.queue_max, lane.queue_timeout_ms) : undefined;
    live.protocol = lane.transport === "h1" ? "h1" : "h2";
    const limiter = this.limiter;
    Object.defineProperty(live, "queueDepth", { get: () => limiter?.queueDepth ?? 0, enumerable: true, configurable: true });
  }

  /** The transport the next attempt uses. */
  transport(nowMs: number): Transport {
    const useH2 = this.#useH2(nowMs);
    this.live.protocol = useH2 ? "h2" : "h1";
    if (useH2) {
      this.#h2 ??= new H2Transport({ ca: this.#ca, pingAfterMs: this.lane.timeouts.ping_after_ms, pingTimeoutMs: this.lane.timeouts.ping_timeout_ms });
      return this.#h2;
    }
    this.#h1 ??= new H1Transport({ ca: this.#ca });
    return this.#h1;
  }

  /**
   * Opens one connection the way the next attempt's transport would (native sockets, the
   * lane's CA, its ALPN): `ccp ok` checks the lane with it, so ok and traffic agree.
   */
  connect(nowMs: number): Promise<BunConn> {
    const url = new URL(this.lane.base_url);
    return this.#useH2(nowMs) ? dialH2(url, this.lane.timeouts, this.#ca) : dialH1(url, this.lane.timeouts, this.#ca);
  }

  #useH2(nowMs: number): boolean {
    return this.lane.transport === "h2" || (this.lane.transport === "auto" && nowMs >= this.#h2DisabledUntil);
  }

  /** An `auto` lane whose HTTP/2 attempt failed in an HTTP/2-shaped way: HTTP/1.1 for a while. */
  canDowngrade(): boolean {
    return this.lane.transport === "auto";
  }

  downgrade(nowMs: number): void {
    this.#h2DisabledUntil = nowMs + this.lane.h1_cooldown_ms;
    this.live.protocol = "h1";
  }

  close(): void {
    this.#h1?.close();
    this.#h2?.close();
  }
}
