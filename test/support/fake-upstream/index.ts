// Client side of the fake upstream, used from `bun test`. Compiles server.ts for
// Node once per test process and runs it as a `node` child process.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

import type { Behaviour, Match, QuotaAnswer, ReadyLine, RecordedRequest } from "./protocol.ts";

export type { Behaviour, Match, QuotaAnswer, RawEnd, RecordedRequest, RichOptions } from "./protocol.ts";
export {
  RICH_MESSAGE_ID,
  RICH_REDACTED_DATA,
  RICH_SIGNATURE,
  RICH_TEXT,
  RICH_THINKING,
  RICH_TOOL_ID,
  RICH_TOOL_INPUT,
  RICH_TOOL_NAME,
  errorEnvelope,
  errorTypeForStatus,
  normalFrames,
  richFrames,
  richMessage,
  sseFrame,
  zaiQuotaBody,
  zaiWall,
} from "./protocol.ts";

export interface LimitStats {
  maxConcurrent: number;
  delayMs: number;
  /** requests answered with the burst error */
  rejected: number;
  /** most streams in flight at once */
  peak: number;
  /** epoch ms of the first refusal (0: none yet) */
  firstRejectAt: number;
  /** most requests in flight at once (refused ones included) from settleMs after the first refusal */
  peakSeenAfterSettle: number;
  /** requests refused from settleMs after the first refusal */
  rejectedAfterSettle: number;
}

export interface FakeUpstream {
  /** "https://127.0.0.1:PORT" (TLS, ALPN h2 + http/1.1) */
  readonly url: string;
  readonly port: number;
  /** PEM path of the self-signed cert (CN/SAN 127.0.0.1 + localhost) */
  readonly caFile: string;
  /** "https://127.0.0.1:PORT2": accepts TCP, never completes TLS */
  readonly blackholeUrl: string;
  /** plain-HTTP control endpoint, "http://127.0.0.1:PORT3" */
  readonly controlUrl: string;
  /** queue behaviours, consumed one per matching request; when no script matches: "normal" */
  script(behaviours: Behaviour[], match?: Match): Promise<void>;
  /**
   * Sticky response headers: added to every answer of /v1/messages and /v1/messages/count_tokens
   * whose request matches (any behaviour, h1 and h2, errors included), until reset() or a new
   * setHeaders for the same match, which replaces them (`{}` removes them). Several matching sets
   * add up, a later set winning on a shared name; a header the behaviour sets itself (status
   * headers, raw headers) keeps the behaviour's value. Names are sent lower-case, values as given.
   * E.g. `setHeaders({ "anthropic-ratelimit-unified-5h-utilization": "0.42" }, { pathPrefix: "/anthropic" })`.
   */
  setHeaders(headers: Record<string, string>, match?: Match): Promise<void>;
  /**
   * What the Z.ai-style quota endpoint answers: `GET /api/monitor/usage/quota/limit` on the TLS
   * port, h1 and h2, under any path prefix (`/zai/api/monitor/usage/quota/limit`). It wants a
   * credential (`authorization`, raw key or `Bearer <key>`, or `x-api-key`); without one: 401
   * JSON. Default answer (also after reset()): 200 with zaiQuotaBody(now), 5-hour window at 20 %.
   * `delayMs` makes it slow (to test a client's timeout). Its requests are recorded like the
   * others: path as sent, behaviour "quota" ("quota_unauthorized" for the 401).
   */
  setQuota(answer: QuotaAnswer): Promise<void>;
  /**
   * Check thinking signatures as Anthropic does (default off; reset() turns it off). Each instance
   * has a random secret and each request a realm, its path before "/v1/" ("/zai/v1/messages":
   * "/zai"; "/v1/messages": ""). While on, rich answers carry signature = base64(HMAC-SHA256(
   * secret + realm, thinking text)) (and redacted_thinking data made likewise) instead of
   * RICH_SIGNATURE / RICH_REDACTED_DATA, and every /v1/messages request is checked before anything
   * else (no scripted behaviour consumed, no concurrency limit counted): each assistant message's
   * thinking block must carry a signature this instance made in this realm for exactly that text,
   * each redacted_thinking block data it made in this realm, else HTTP 400 invalid_request_error
   * "messages.<i>.content.<j>: Invalid `signature` in `thinking` block" (recorded behaviour
   * "invalid_signature"); and with `thinking: {type: "enabled"}`, a last assistant message that
   * holds a tool_use block must start with a thinking or redacted_thinking block, else 400
   * "messages.<i>.content.0.type: Expected `thinking` or `redacted_thinking`, but found ..."
   * (recorded "missing_thinking"). Answers made while off carry RICH_SIGNATURE, refused while on.
   * Not checked: count_tokens, and stall_upload (decided before the body is read).
   */
  verifySignatures(on: boolean): Promise<void>;
  /** everything received, in arrival order; with `model`, only the requests whose body named it */
  requests(o?: { model?: string }): Promise<RecordedRequest[]>;
  /**
   * Provider-side concurrency: beyond maxConcurrent streams in flight, a messages request
   * gets HTTP 200 and an immediate in-stream [1302] error (Z.ai's burst limit). Cleared by reset().
   */
  limit(o: { maxConcurrent: number; delayMs?: number; settleMs?: number }): Promise<void>;
  limitStats(): Promise<LimitStats>;
  /** clear scripts, records and sticky headers, restore the default quota answer, stop verifying signatures, destroy stalled requests */
  reset(): Promise<void>;
  /** kill the process (also killed automatically at process exit) */
  close(): Promise<void>;
}

const NODE = process.env.CCP_TEST_NODE ?? (existsSync("/usr/bin/node") ? "/usr/bin/node" : "node");
const SERVER_TS = path.join(import.meta.dir, "server.ts");

let built: Promise<string> | undefined;
const live = new Set<ChildProcess>();

process.once("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGTERM"); // lets it remove its cert dir; it also exits when its stdin closes
    } catch {
      /* ignore */
    }
  }
});

/**
 * Compile server.ts for Node once. The output is cached in the OS temp dir under a
 * hash of the sources and the bun version (one small file, reused across runs, written
 * atomically so concurrent test processes are safe).
 */
function build(): Promise<string> {
  built ??= (async () => {
    const hash = createHash("sha256");
    hash.update(process.versions.bun ?? process.version);
    // Every module server.ts may import (all the .ts files here, index.ts too: cheap and safe).
    for (const f of readdirSync(import.meta.dir)
      .filter((n) => n.endsWith(".ts"))
      .sort())
      hash.update(readFileSync(path.join(import.meta.dir, f)));
    const dir = path.join(os.tmpdir(), "ccp-fake-upstream-build");
    const out = path.join(dir, `fake-upstream-${hash.digest("hex").slice(0, 16)}.mjs`);
    if (existsSync(out)) return out;
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.${process.pid}.${Date.now()}.tmp.mjs`;
    await new Promise<void>((resolve, reject) => {
      // In `bun test`, process.execPath is the bun binary.
      execFile(process.execPath, ["build", SERVER_TS, "--target", "node", "--outfile", tmp], { timeout: 60_000 }, (err, _stdout, stderr) => {
        if (err) reject(new Error(`bun build of fake upstream failed: ${err.message}\n${stderr}`));
        else resolve();
      });
    });
    renameSync(tmp, out);
    return out;
  })();
  built.catch(() => {
    built = undefined; // allow a retry
  });
  return built;
}

type Controls = Omit<FakeUpstream, "url" | "port" | "caFile" | "blackholeUrl" | "controlUrl" | "close">;

/** The control calls, each one request to the control endpoint. */
function controls(controlUrl: string): Controls {
  const call = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    // A fresh connection per call: Node closes an idle keep-alive connection after 5 s, and
    // Bun's fetch does not retry a POST that lands on a pooled connection being closed at that
    // instant (a spurious ECONNRESET; oven-sh/bun#3801). Control calls are few; reuse buys nothing.
    const res = await fetch(`${controlUrl}${p}`, {
      method,
      keepalive: false,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`fake upstream control ${method} ${p}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };

  return {
    async script(behaviours: Behaviour[], match?: Match): Promise<void> {
      await call("POST", "/script", { behaviours, match: match ?? {} });
    },
    async setHeaders(headers: Record<string, string>, match?: Match): Promise<void> {
      await call("POST", "/headers", { headers, match: match ?? {} });
    },
    async setQuota(answer: QuotaAnswer): Promise<void> {
      await call("POST", "/quota", answer);
    },
    async verifySignatures(on: boolean): Promise<void> {
      await call("POST", "/signatures", { on });
    },
    requests(o?: { model?: string }): Promise<RecordedRequest[]> {
      return call<RecordedRequest[]>("GET", o?.model === undefined ? "/requests" : `/requests?model=${encodeURIComponent(o.model)}`);
    },
    async reset(): Promise<void> {
      await call("POST", "/reset", {});
    },
    async limit(o: { maxConcurrent: number; delayMs?: number; settleMs?: number }): Promise<void> {
      await call("POST", "/limits", o);
    },
    async limitStats(): Promise<LimitStats> {
      return (await call("GET", "/limits")) as LimitStats;
    },
  };
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const script = await build();
  const child = spawn(NODE, [script], { stdio: ["pipe", "pipe", "inherit"] });
  live.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      live.delete(child);
      resolve();
    });
  });
  // Do not keep the test runner alive because of the child.
  child.unref();

  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error("fake upstream did not become ready within 20 s"));
      child.kill("SIGKILL");
    }, 20_000);
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as ReadyLine);
      } catch (e) {
        reject(new Error(`bad ready line from fake upstream: ${line} (${String(e)})`));
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`fake upstream exited before ready (code ${code}, signal ${signal})`));
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });

  const controlUrl = `http://127.0.0.1:${ready.controlPort}`;
  let closed = false;
  return {
    url: `https://127.0.0.1:${ready.port}`,
    port: ready.port,
    caFile: ready.caFile,
    blackholeUrl: `https://127.0.0.1:${ready.blackholePort}`,
    controlUrl,
    ...controls(controlUrl),
    async close(): Promise<void> {
      if (closed) return exited;
      closed = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 3_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
