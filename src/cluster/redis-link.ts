import { RedisClient } from "bun";
import { redactRedisUrl } from "./redis-url.ts";

/** What the link says about itself: one line when it falls back, one when it re-joins (never the URL's password). */
export interface LinkLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface LinkOptions {
  /** Each operation's deadline. */
  readonly opTimeoutMs: number;
  /** While down, how often Redis is asked again. */
  readonly probeEveryMs?: number;
  /** Replaces secrets in an error message before it is logged. */
  readonly redact?: (text: string) => string;
}

export class LinkDown extends Error {
  override readonly name = "LinkDown";
}

/**
 * The one connection to Redis (Bun's built-in client), with a deadline on every operation.
 * An operation that fails or overruns marks the link down at once: callers use their local
 * state, the fall-back is logged once and counted; a probe asks Redis again every second and
 * the link re-joins when it answers. Commands are never queued while the link is down, so
 * nothing waits on a Redis that is not there.
 */
export class RedisLink {
  readonly #client: RedisClient;
  readonly #shown: string;
  readonly #o: Required<LinkOptions>;
  readonly #sha = new Map<string, string>();
  #up = false;
  #probe: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Times the link fell back to local limits, and re-joined. */
  fallbacks = 0;
  rejoins = 0;

  constructor(
    url: string,
    readonly log: LinkLog,
    o: LinkOptions,
  ) {
    this.#o = { probeEveryMs: 1_000, redact: (s) => s, ...o };
    this.#shown = redactRedisUrl(url);
    // No offline queue: a command sent while disconnected fails at once instead of waiting.
    this.#client = new RedisClient(url, { enableOfflineQueue: false, connectionTimeout: Math.max(1_000, o.opTimeoutMs), autoReconnect: true, maxRetries: 10 });
    this.#client.onclose = () => {
      if (this.#up) this.#down("the connection closed");
    };
  }

  get up(): boolean {
    return this.#up;
  }

  /** Where the link points, password masked. */
  get shown(): string {
    return this.#shown;
  }

  /** Connects (bounded by the deadline); down when Redis does not answer, with the probe running. */
  async start(): Promise<void> {
    await this.#tryJoin(true);
  }

  /** One command within the deadline; marks the link down and throws LinkDown when it fails or overruns. */
  async send(command: string, args: readonly string[]): Promise<unknown> {
    if (!this.#up) throw new LinkDown("redis is down");
    try {
      return await this.#timed(this.#client.send(command, [...args]));
    } catch (e) {
      if (isScriptMissing(e)) throw e;
      this.#down((e as Error).message);
      throw new LinkDown((e as Error).message);
    }
  }

  /** A script by its SHA1 (EVALSHA), sent whole once when Redis does not know it (a fresh or restarted Redis). */
  async eval(script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const sha = this.#sha.get(script) ?? new Bun.CryptoHasher("sha1").update(script).digest("hex");
    this.#sha.set(script, sha);
    const rest = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await this.send("EVALSHA", [sha, ...rest]);
    } catch (e) {
      if (!isScriptMissing(e)) throw e;
      return await this.send("EVAL", [script, ...rest]);
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#probe);
    this.#up = false;
    this.#client.onclose = null;
    this.#client.close();
  }

  #timed<T>(p: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#o.opTimeoutMs} ms`)), this.#o.opTimeoutMs);
    });
    p.catch(() => {}); // an answer after the deadline is dropped
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  #down(why: string): void {
    if (!this.#up || this.#closed) return;
    this.#up = false;
    this.fallbacks++;
    this.log.warn(`cluster: redis at ${this.#shown} unreachable (${this.#o.redact(why)}); shared lanes use this instance's local limits until it answers`);
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#closed) return;
    clearTimeout(this.#probe);
    this.#probe = setTimeout(() => void this.#tryJoin(false), this.#o.probeEveryMs);
    this.#probe.unref?.();
  }

  async #tryJoin(first: boolean): Promise<void> {
    if (this.#closed || this.#up) return;
    try {
      if (!this.#client.connected) await this.#timed(this.#client.connect());
      await this.#timed(this.#client.send("PING", []));
    } catch (e) {
      if (first) {
        this.fallbacks++;
        this.log.warn(`cluster: redis at ${this.#shown} unreachable (${this.#o.redact((e as Error).message)}); shared lanes use this instance's local limits until it answers`);
      }
      this.#scheduleProbe();
      return;
    }
    if (this.#closed) return;
    this.#up = true;
    if (first) this.log.info(`cluster: joined through redis at ${this.#shown}`);
    else {
      this.rejoins++;
      this.log.info(`cluster: redis at ${this.#shown} answers again; shared lanes use the fleet's limits again`);
    }
  }
}

const isScriptMissing = (e: unknown) => e instanceof Error && /NOSCRIPT/.test(e.message);
