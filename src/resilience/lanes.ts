import type { Lane } from "../config/config.ts";
import { LaneRuntime, realTransports, type ShareFactory, type TransportFactory } from "./lane-runtime.ts";
import type { LiveState } from "../usage/live.ts";

/** One runtime per lane (transports, HTTP/2 cool-down, concurrency), sharing the live state's lane entries; a shared lane's limiter and cool-down are the fleet's. */
export function createLaneRuntimes(lanes: Readonly<Record<string, Lane>>, live: LiveState, makeTransport: TransportFactory = realTransports, share?: ShareFactory): Map<string, LaneRuntime> {
  const out = new Map<string, LaneRuntime>();
  for (const lane of Object.values(lanes)) {
    const entry = live.lanes.get(lane.name) ?? { protocol: lane.transport === "h1" ? "h1" : "h2", queueDepth: 0, limit: Number.POSITIVE_INFINITY };
    live.lanes.set(lane.name, entry);
    out.set(lane.name, new LaneRuntime(lane, entry, makeTransport, share));
  }
  return out;
}
