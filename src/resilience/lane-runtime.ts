import type { Lane } from "../config/config.ts";
import type { BunConn } from "../upstream/bun-socket.ts";
import { dialH1, H1Transport } from "../upstream/h1.ts";
import { dialH2, H2Transport } from "../upstream/h2.ts";
import type { Protocol, Transport } from "../upstream/transport.ts";
import { trustedRoots } from "../upstream/trusted-roots.ts";
import type { LaneLive } from "../usage/live.ts";
import { AdaptiveLimiter, type Limiter } from "./limiter.ts";

/** Makes a lane's transport for a protocol, once per lane and protocol: the real ones, or scripted ones in tests. */
export type TransportFactory = (lane: Lane, protocol: Protocol) => Transport;

/** ccp's own HTTP/1.1 and HTTP/2 clients, trusting the lane's CA file besides the system's roots. */
export const realTransports: TransportFactory = (lane, protocol) => {
  const ca = trustedRoots(lane.ca_file);
  return protocol === "h2" ? new H2Transport({ ca, pingAfterMs: lane.timeouts.ping_after_ms, pingTimeoutMs: lane.timeouts.ping_timeout_ms }) : new H1Transport({ ca });
};

/** What a lane shares with other instances of a fleet (cluster/): its limiter and its HTTP/1.1 cool-down. */
export interface LaneShare {
  readonly limiter: Limiter;
  /** Until when (monotonic ms, as the attempt loop's clock) the fleet keeps the lane on HTTP/1.1. */
  h1Until(): number;
  /** This instance put the lane on HTTP/1.1 for `ms`: the fleet follows. */
  downgraded(ms: number): void;
}

/** Makes a lane's share from its local limiter, or undefined for a lane that is not shared. */
export type ShareFactory = (lane: Lane, local: AdaptiveLimiter) => LaneShare | undefined;

/**
 * A lane at run time: its transports (created on first use), the HTTP/2 cool-down of an
 * `auto` lane, and its concurrency limiter. The attempt loop asks it which transport to use.
 */
export class LaneRuntime {
  /** Engaged from the start by max_concurrency, else by the lane's first overload (limiter.ts); the fleet's for a shared lane. */
  readonly limiter: Limiter;
  readonly #share: LaneShare | undefined;
  #h1: Transport | undefined;
  #h2: Transport | undefined;
  #h2DisabledUntil = 0;

  constructor(
    readonly lane: Lane,
    readonly live: LaneLive,
    readonly makeTransport: TransportFactory = realTransports,
    share?: ShareFactory,
  ) {
    const local = new AdaptiveLimiter({ max: lane.max_concurrency, queueMax: lane.queue_max, queueTimeoutMs: lane.queue_timeout_ms });
    this.#share = share?.(lane, local);
    const limiter = this.#share?.limiter ?? local;
    this.limiter = limiter;
    live.protocol = lane.transport === "h1" ? "h1" : "h2";
    Object.defineProperty(live, "queueDepth", { get: () => limiter.queueDepth, enumerable: true, configurable: true });
    Object.defineProperty(live, "limit", { get: () => limiter.limit, enumerable: true, configurable: true });
  }

  /** The transport the next attempt uses. */
  transport(nowMs: number): Transport {
    const useH2 = this.#useH2(nowMs);
    this.live.protocol = useH2 ? "h2" : "h1";
    if (useH2) return (this.#h2 ??= this.makeTransport(this.lane, "h2"));
    return (this.#h1 ??= this.makeTransport(this.lane, "h1"));
  }

  /** The transport for a protocol the request pinned (`ccp replay --transport`): the lane's own, its cool-down left alone. */
  transportFor(protocol: Protocol): Transport {
    if (protocol === "h2") return (this.#h2 ??= this.makeTransport(this.lane, "h2"));
    return (this.#h1 ??= this.makeTransport(this.lane, "h1"));
  }

  /**
   * Opens one connection the way the next attempt's transport would (native sockets, the
   * lane's CA, its ALPN): `ccp ok` checks the lane with it, so ok and traffic agree.
   */
  connect(nowMs: number): Promise<BunConn> {
    const url = new URL(this.lane.base_url);
    const ca = trustedRoots(this.lane.ca_file);
    return this.#useH2(nowMs) ? dialH2(url, this.lane.timeouts, ca) : dialH1(url, this.lane.timeouts, ca);
  }

  #useH2(nowMs: number): boolean {
    return this.lane.transport === "h2" || (this.lane.transport === "auto" && nowMs >= Math.max(this.#h2DisabledUntil, this.#share?.h1Until() ?? 0));
  }

  /** An `auto` lane whose HTTP/2 attempt failed in an HTTP/2-shaped way: HTTP/1.1 for a while. */
  canDowngrade(): boolean {
    return this.lane.transport === "auto";
  }

  downgrade(nowMs: number): void {
    this.#h2DisabledUntil = nowMs + this.lane.h1_cooldown_ms;
    this.live.protocol = "h1";
    this.#share?.downgraded(this.lane.h1_cooldown_ms);
  }

  close(): void {
    this.#h1?.close();
    this.#h2?.close();
  }
}
