import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisClient, type Subprocess } from "bun";
import { ensureDebianPackage, skippedFor } from "./apt.ts";
import { freePort } from "./cli.ts";

export const REDIS_SERVER = "/usr/bin/redis-server";

/** Why no redis-server can be had (Debian's package, installed on demand), or undefined when it is there. */
export const redisUnavailable = (): string | undefined => ensureDebianPackage("redis-server", () => existsSync(REDIS_SERVER));

/** For a test file: true (and a line saying why) when its tests must be skipped for want of a redis-server. */
export const skipWithoutRedis = (tests: string): boolean => skippedFor(tests, "redis-server", redisUnavailable());

/**
 * A redis-server of the test's own: a free loopback port (never the machine's 6379), a
 * temporary directory, nothing saved (`--save ""`, `--appendonly no`). stop() and start()
 * take it down and bring it back on the same port (an outage); close() ends it for good.
 */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** SIGKILL: an outage as sudden as a crash (every key is gone: nothing is saved). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that accepts connections but does not answer. */
  pause(): void;
  resume(): void;
  /** FLUSHALL: the next test starts from an empty fleet. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const running = new Set<Subprocess>();
process.once("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

export async function startRedis(o: { readonly password?: string } = {}): Promise<TestRedis> {
  const why = redisUnavailable();
  if (why) throw new Error(`no redis-server: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), "ccp-redis-"));
  const port = await freePort();
  let proc: Subprocess | undefined;
  const start = async () => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "yes", ...(o.password ? ["--requirepass", o.password] : [])];
    const p = Bun.spawn([REDIS_SERVER, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    running.add(p);
    proc = p;
    let text = "";
    const reader = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of p.stdout) {
        text += dec.decode(chunk, { stream: true });
        if (text.includes("Ready to accept connections")) return true;
      }
      return false;
    })();
    const ready = await Promise.race([reader, Bun.sleep(15_000).then(() => false)]);
    if (!ready) {
      p.kill("SIGKILL");
      running.delete(p);
      throw new Error(`redis-server did not start on port ${port}:\n${text}${await new Response(p.stderr).text()}`);
    }
  };
  const stop = async () => {
    const p = proc;
    if (!p) return;
    proc = undefined;
    p.kill("SIGCONT");
    p.kill("SIGKILL");
    await p.exited;
    running.delete(p);
  };
  await start();
  const url = `redis://${o.password ? `:${encodeURIComponent(o.password)}@` : ""}127.0.0.1:${port}`;
  return {
    url,
    port,
    stop,
    start,
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
    async flush() {
      const client = new RedisClient(url);
      try {
        await client.send("FLUSHALL", []);
      } finally {
        client.close();
      }
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
