import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { runAttempts } from "../../src/resilience/attempt-loop.ts";
import type { TransportFactory } from "../../src/resilience/lane-runtime.ts";
import { createLaneRuntimes } from "../../src/resilience/lanes.ts";
import { answerUncommitted } from "../../src/server/answers.ts";
import type { ByteSource } from "../../src/upstream/body-queue.ts";
import { newLiveState } from "../../src/usage/live.ts";
import { scriptedTransports, sseAnswer, type Step } from "../support/scripted.ts";

/** Review of the limiter as the attempt loop drives it, and of fallback "any" with a retry-after above its cap (branch rev). */

function config(toml: string) {
  const home = mkdtempSync(join(tmpdir(), "ccp-rev-"));
  const file = join(home, "ccp.toml");
  writeFileSync(file, toml);
  return loadConfig({ file, env: { HOME: home, CCP_HOME: join(home, "state") }, port: 0 }).lanes;
}

const enc = new TextEncoder();
/** A body that sends `pieces`, pausing `pauseMs` before piece `pauseBefore`. */
function slowBody(pieces: readonly string[], pauseBefore: number, pauseMs: number): ByteSource {
  let i = 0;
  return {
    async read() {
      if (i >= pieces.length) return { done: true };
      if (i === pauseBefore) await Bun.sleep(pauseMs);
      return { done: false, value: enc.encode(pieces[i++]!) };
    },
    async cancel() {},
  };
}
const refusal1302 = 'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","code":"1302","message":"[1302] too many at once"}}\n\n';

describe("review: what the limiter counts as admitted", () => {
  test("a 1302 that comes while one stream flows and another has had its message_start (held before its first block): the provider admitted two", async () => {
    const lanes = config(`[lanes.a]
base_url = "https://a.example"
transport = "h1"
retry = { attempts = 2, base_ms = 100, cap_ms = 100, budget_ms = 10000 }
[[routes]]
match = "*"
lane = "a"
`);
    let n = 0;
    const factory: TransportFactory = (_lane, protocol) => ({
      protocol,
      async send() {
        const k = ++n;
        const sse: [string, string][] = [["content-type", "text/event-stream"]];
        // 1: a stream that commits at once and flows. 2: message_start at once, its first block 600 ms later. 3: refused, 1302.
        if (k === 1) return { protocol, status: 200, headers: sse, body: slowBody(sseAnswer(), 99, 0) };
        if (k === 2) return { protocol, status: 200, headers: sse, body: slowBody(sseAnswer(), 1, 600) };
        return { protocol, status: 200, headers: sse, body: slowBody([refusal1302], 99, 0) };
      },
      close() {},
    });
    const runtimes = createLaneRuntimes(lanes, newLiveState([]), factory);
    const a = runtimes.get("a")!;
    const input = {
      first: a,
      lanes: runtimes,
      fallback: "off" as const,
      build: () => ({ url: new URL("https://a.example/v1/messages"), method: "POST", headers: [], body: undefined }),
      expects: "stream" as const,
      signal: new AbortController().signal,
      now: () => performance.now(),
      // The refused request's retry waits until the test ends: what the limit is right after the refusal is what counts.
      sleep: (_ms: number, signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
      random: () => 0.5,
    };
    const first = await runAttempts(input); // committed, flowing
    expect(first.kind).toBe("committed");
    const second = runAttempts(input); // message_start sent, first block held back
    await Bun.sleep(50);
    const leave = new AbortController();
    const third = runAttempts({ ...input, signal: leave.signal }); // the 1302
    await Bun.sleep(100);
    // The provider had admitted 1 and 2 when it refused 3: the limit (and the ceiling) is 2.
    expect(a.limiter.limit).toBe(2); // fails: 1 — stream 2 counts as flowing only once committed (first content block), so the ceiling learnt is 1, held for a minute
    const done = await second;
    if (done.kind === "committed") done.release();
    if (first.kind === "committed") first.release();
    leave.abort();
    expect((await third).kind).toBe("failed");
  });
});

describe("review (held): fallback any with a retry-after above its cap", () => {
  const ok: Step = { status: 200, headers: [["content-type", "text/event-stream"]], body: sseAnswer() };
  const long: Step = {
    status: 429,
    headers: [
      ["content-type", "application/json"],
      ["retry-after", "300"],
    ],
    body: "{}",
  };
  async function run(fallbacks: string, script: (lane: string) => Step) {
    const lanes = config(`fallback = "any"
[lanes.a]
base_url = "https://a.example"
transport = "h1"
fallback_lane = "b"
retry = { attempts = 3, base_ms = 100, cap_ms = 1000, budget_ms = 10000, retry_after_max_ms = 20000 }
[lanes.b]
base_url = "https://b.example"
transport = "h1"
${fallbacks}
retry = { attempts = 3, base_ms = 100, cap_ms = 1000, budget_ms = 10000, retry_after_max_ms = 20000 }
[[routes]]
match = "*"
lane = "a"
`);
    const { factory, sent } = scriptedTransports((lane) => script(lane.name));
    const runtimes = createLaneRuntimes(lanes, newLiveState([]), factory);
    const waits: number[] = [];
    const result = await runAttempts({
      first: runtimes.get("a")!,
      lanes: runtimes,
      fallback: "any",
      build: (lane) => ({ url: new URL(`${lane.base_url}/v1/messages`), method: "POST", headers: [], body: undefined }),
      expects: "stream",
      signal: new AbortController().signal,
      now: () => 0,
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0.5,
    });
    return { result, waits, sent: sent.map((s) => s.lane) };
  }

  test("the fallback lane answers the same long retry-after: two attempts, no wait, the client gets b's 429, its retry-after capped at 60 s (answers.ts MAX_CLIENT_RETRY_AFTER_S)", async () => {
    const { result, waits, sent } = await run("", () => long);
    expect(sent).toEqual(["a", "b"]);
    expect(waits).toEqual([]);
    expect(result).toMatchObject({ kind: "answer", fallbackFrom: "a", exhausted: false });
    const { response, status } = answerUncommitted(result as Extract<typeof result, { kind: "answer" }>, "ccp_test", undefined);
    expect(status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("60");
  });

  test("lanes that fall back to each other (a → b, b → a): no loop, a is not tried again", async () => {
    const { sent, result } = await run('fallback_lane = "a"', () => long);
    expect(sent).toEqual(["a", "b"]);
    expect(result.kind).toBe("answer");
  });

  test("the fallback lane healthy: it answers", async () => {
    const { sent, result } = await run("", (lane) => (lane === "a" ? long : ok));
    expect(sent).toEqual(["a", "b"]);
    expect(result.kind).toBe("committed");
    if (result.kind === "committed") result.release();
  });
});
