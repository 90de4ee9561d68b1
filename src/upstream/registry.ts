import type { Lane } from "../config/config.ts";
import { trustedRoots } from "./dial.ts";
import { H1Transport } from "./h1.ts";
import { H2Transport } from "./h2.ts";
import type { Transport } from "./transport.ts";

/** One transport per lane, as its config says; pools and sessions live inside them. */
export function createTransports(lanes: Readonly<Record<string, Lane>>): Map<string, Transport> {
  const out = new Map<string, Transport>();
  for (const lane of Object.values(lanes)) {
    const ca = trustedRoots(lane.ca_file);
    out.set(lane.name, lane.transport === "h2" ? new H2Transport({ ca, pingAfterMs: lane.timeouts.ping_after_ms, pingTimeoutMs: lane.timeouts.ping_timeout_ms }) : new H1Transport({ ca }));
  }
  return out;
}
