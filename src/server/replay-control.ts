import { createHash, timingSafeEqual } from "node:crypto";
import type { Config } from "../config/config.ts";

/**
 * What `ccp replay` sends besides the captured request: the replay key proves the sender can read
 * the running ccp's state directory (the key is in a 0600 file there, new at every start), so a
 * web page, another user or a client given only the proxy key cannot choose a lane or a
 * transport, nor mark a request as a replay. All x-ccp-* headers are ccp's: none goes upstream.
 */
export const REPLAY_KEY_HEADER = "x-ccp-replay-key";
export const REPLAY_OF_HEADER = "x-ccp-replay-of";
export const REPLAY_LANE_HEADER = "x-ccp-lane";
export const REPLAY_TRANSPORT_HEADER = "x-ccp-transport";

const HEADERS = [REPLAY_KEY_HEADER, REPLAY_OF_HEADER, REPLAY_LANE_HEADER, REPLAY_TRANSPORT_HEADER];
/** ccp's request ids (server/serve.ts newRid). */
export const RID = /^ccp_[a-z0-9]{1,40}$/;

export interface ReplayControl {
  /** The captured request's rid (the usage line's replay_of). */
  readonly replayOf: string;
  /** The lane to send it to, routes bypassed; undefined: routed as any request. */
  readonly lane: string | undefined;
  readonly transport: "h1" | "h2" | "auto" | undefined;
}

export type ReplayCheck = { readonly ok: true; readonly control: ReplayControl | undefined } | { readonly ok: false; readonly status: 400 | 403; readonly message: string };

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Reads and removes the replay headers (nothing after this point, capture included, sees the
 * key). None: an ordinary request. Any without the running ccp's replay key: 403, so a forged
 * lane or replay mark is refused, not ignored. Pure but for the headers it removes.
 */
export function replayControl(headers: Headers, key: string, config: Pick<Config, "lanes">): ReplayCheck {
  const given = headers.get(REPLAY_KEY_HEADER);
  const of = headers.get(REPLAY_OF_HEADER);
  const lane = headers.get(REPLAY_LANE_HEADER);
  const transport = headers.get(REPLAY_TRANSPORT_HEADER);
  for (const h of HEADERS) headers.delete(h);
  if (given === null && of === null && lane === null && transport === null) return { ok: true, control: undefined };
  if (given === null || !timingSafeEqual(digest(given), digest(key))) {
    const message = `ccp: ${REPLAY_OF_HEADER}, ${REPLAY_LANE_HEADER} and ${REPLAY_TRANSPORT_HEADER} are for ccp replay, which reads this ccp's replay key from its state directory`;
    return { ok: false, status: 403, message };
  }
  if (of === null || !RID.test(of)) return { ok: false, status: 400, message: `ccp: ${REPLAY_OF_HEADER} must name the rid of the request replayed (ccp_...)` };
  if (lane !== null && !Object.hasOwn(config.lanes, lane)) return { ok: false, status: 400, message: `ccp: no lane "${lane.slice(0, 64)}"; lanes: ${Object.keys(config.lanes).join(", ")}` };
  if (transport !== null && transport !== "h1" && transport !== "h2" && transport !== "auto") return { ok: false, status: 400, message: `ccp: ${REPLAY_TRANSPORT_HEADER} is h1, h2 or auto` };
  return { ok: true, control: { replayOf: of, lane: lane ?? undefined, transport: transport ?? undefined } };
}
