import type { Lane } from "../config/config.ts";
import { trustedRoots } from "../upstream/trusted-roots.ts";
import type { QuotaDesk } from "./desk.ts";
import { parseZaiQuota, zaiQuotaUrl } from "./zai.ts";

/** A lane's quota endpoint: its quota_url, Z.ai's for a zai lane with a key, none when quota_url = "". */
export function quotaUrlOf(lane: Pick<Lane, "quota_url" | "dialect" | "auth" | "base_url">): string | undefined {
  if (lane.quota_url === "") return undefined;
  if (lane.quota_url !== undefined) return lane.quota_url;
  return lane.dialect === "zai" && lane.auth === "key" ? zaiQuotaUrl(lane.base_url) : undefined;
}

export type Fetcher = (url: string, init: RequestInit & { tls?: { ca?: readonly string[] } }) => Promise<Response>;

export interface PollerOptions {
  readonly fetcher?: Fetcher;
  /** Least time between two polls of a lane. */
  readonly everyMs?: number;
  /** A lane is polled while it has had traffic within this long. */
  readonly activeMs?: number;
  readonly timeoutMs?: number;
  /** How often the poller looks at its lanes. */
  readonly tickMs?: number;
}

/** The largest quota answer read (Z.ai's is about 1 KiB). */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Reads each keyed lane's quota endpoint (CLAUDE-CODE-GATEWAY.md §4) off the request path: at
 * most once a minute, only while the lane has had traffic in the last hour, with a timeout. A
 * failure is logged once (until a poll works again) and shows as "failing"; never fatal. The
 * key goes in `authorization` as Z.ai's own plugins send it (bare), then as a bearer token if
 * that is refused.
 */
export class QuotaPoller {
  readonly #lanes: Lane[];
  readonly #last = new Map<string, number>();
  readonly #inFlight = new Set<string>();
  readonly #bearer = new Set<string>();
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  readonly #o: Required<PollerOptions>;

  constructor(
    lanes: readonly Lane[],
    readonly desk: QuotaDesk,
    readonly log: { info(m: string): void; warn(m: string): void },
    o: PollerOptions = {},
  ) {
    this.#lanes = lanes.filter((l) => quotaUrlOf(l) !== undefined && l.key !== undefined);
    this.#o = { fetcher: o.fetcher ?? fetch, everyMs: o.everyMs ?? 60_000, activeMs: o.activeMs ?? 3_600_000, timeoutMs: o.timeoutMs ?? 5_000, tickMs: o.tickMs ?? 5_000 };
    if (this.#lanes.length > 0) {
      this.#timer = setInterval(() => void this.tick(), this.#o.tickMs);
      this.#timer.unref();
    }
  }

  /** Polls every lane that is due; resolves when those polls are over (tests await it). */
  async tick(): Promise<void> {
    const now = this.desk.clock();
    const due = this.#lanes.filter((l) => {
      const seen = this.desk.lastTraffic.get(l.name);
      const active = seen !== undefined && now - seen < this.#o.activeMs;
      if (!active && this.desk.polls.get(l.name) !== "failing") this.desk.polls.set(l.name, "idle");
      return active && !this.#inFlight.has(l.name) && now - (this.#last.get(l.name) ?? Number.NEGATIVE_INFINITY) >= this.#o.everyMs;
    });
    await Promise.all(due.map((l) => this.#poll(l)));
  }

  async #poll(lane: Lane): Promise<void> {
    this.#inFlight.add(lane.name);
    this.#last.set(lane.name, this.desk.clock());
    try {
      let res = await this.#ask(lane);
      if ((res.status === 401 || res.status === 403) && !this.#bearer.has(lane.name)) {
        this.#bearer.add(lane.name);
        res = await this.#ask(lane);
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const windows = parseZaiQuota(JSON.parse(await readCapped(res)), this.desk.clock());
      if (!windows) throw new Error("the answer is not a quota list (data.limits)");
      this.desk.book.record(lane.name, "lane", windows);
      if (this.desk.polls.get(lane.name) === "failing") this.log.info(`lane ${lane.name}: its quota endpoint answers again`);
      this.desk.polls.set(lane.name, "ok");
    } catch (e) {
      if (this.desk.polls.get(lane.name) !== "failing") {
        const why = e instanceof Error && e.name === "TimeoutError" ? `no answer within ${this.#o.timeoutMs} ms` : firstLine(e);
        this.log.warn(`lane ${lane.name}: its quota endpoint failed (${why}); its plan use shows as unknown until it answers`);
      }
      this.desk.polls.set(lane.name, "failing");
    } finally {
      this.#inFlight.delete(lane.name);
    }
  }

  #ask(lane: Lane): Promise<Response> {
    const key = lane.key!;
    return this.#o.fetcher(quotaUrlOf(lane)!, {
      headers: { authorization: this.#bearer.has(lane.name) ? `Bearer ${key}` : key, accept: "application/json" },
      signal: AbortSignal.timeout(this.#o.timeoutMs),
      redirect: "manual",
      tls: { ca: trustedRoots(lane.ca_file) },
    });
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}

/** An error's first line, short, without what it may quote (a URL holds no key; the key is never in a message). */
const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200);

async function readCapped(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      void reader.cancel().catch(() => {});
      throw new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    }
    parts.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(parts));
}
