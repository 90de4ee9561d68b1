import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { RetrySettings } from "../../src/config/schema.ts";
import { nextStep, runAttempts, type Situation } from "../../src/resilience/attempt-loop.ts";
import { AdaptiveLimiter } from "../../src/resilience/limiter.ts";
import { answerUncommitted, laneRetryAfterS } from "../../src/server/answers.ts";
import { fullJitterMs } from "../../src/resilience/backoff.ts";
import { createLaneRuntimes } from "../../src/resilience/lanes.ts";
import { FAILURE_CLASSES, FAILURE_TABLE, type FailureClass } from "../../src/upstream/failure.ts";
import { newLiveState } from "../../src/usage/live.ts";
import { scriptedTransports, sseAnswer, type Step } from "../support/scripted.ts";

/**
 * The attempt loop, driven in process by scripted transports: every failure class, answered
 * statuses and in-stream errors, each under every fallback policy and with and without the
 * `auto` downgrade, with the exact attempts, waits, fallbacks and the status the client gets.
 * Waits are recorded, not slept; the jitter's random is fixed.
 */
const RETRY: RetrySettings = { attempts: 3, base_ms: 100, cap_ms: 1000, budget_ms: 10_000, retry_after_max_ms: 5_000 };
const situation = (s: Partial<Situation>): Situation => ({
  failure: undefined,
  verdict: { retryable: false, network: false, overload: false, code: undefined },
  protocol: "h1",
  canDowngrade: false,
  hasFallback: false,
  hasReroute: false,
  policy: "off",
  laneTries: 1,
  retry: RETRY,
  elapsedMs: 0,
  retryAfterMs: undefined,
  random: () => 0.5,
  ...s,
});
const retryable = { retryable: true, network: false, overload: false, code: undefined };
const network = { ...retryable, network: true };
const overload = { ...retryable, overload: true };
const wall = { retryable: false, network: false, overload: false, code: "1308", quota: true };

describe("nextStep: the one decision after a failed attempt", () => {
  test.each([
    ["an HTTP/2-shaped failure on an auto lane's h2 attempt → downgrade", situation({ failure: "dead_session", verdict: network, protocol: "h2", canDowngrade: true }), { kind: "downgrade" }],
    ["the same on h1 → a retry", situation({ failure: "dead_session", verdict: network, protocol: "h1", canDowngrade: true }), { kind: "retry", waitMs: 50 }],
    ["a reset is not HTTP/2-shaped → a retry, not a downgrade", situation({ failure: "reset", verdict: retryable, protocol: "h2", canDowngrade: true }), { kind: "retry", waitMs: 50 }],
    ["a network failure, policy network, a fallback lane → fallback", situation({ failure: "connect", verdict: network, hasFallback: true, policy: "network" }), { kind: "fallback" }],
    ["a network failure, policy off → a retry on the lane", situation({ failure: "connect", verdict: network, hasFallback: true, policy: "off" }), { kind: "retry", waitMs: 50 }],
    ["retries spent, policy any → fallback", situation({ failure: "reset", verdict: retryable, hasFallback: true, policy: "any", laneTries: 3 }), { kind: "fallback" }],
    [
      "retries spent, policy network, not a network failure → stop, exhausted",
      situation({ failure: "reset", verdict: retryable, hasFallback: true, policy: "network", laneTries: 3 }),
      { kind: "stop", exhausted: true },
    ],
    ["the second retry waits up to base·2", situation({ verdict: retryable, laneTries: 2 }), { kind: "retry", waitMs: 100 }],
    ["an overload past the attempt count, within the budget → a retry (waits at most cap)", situation({ verdict: overload, laneTries: 7 }), { kind: "retry", waitMs: 500 }],
    ["an overload with attempts = 1 → stop (1 means never retry)", situation({ verdict: overload, retry: { ...RETRY, attempts: 1 } }), { kind: "stop", exhausted: true }],
    ["an overload whose wait would pass the budget → stop, exhausted", situation({ verdict: overload, laneTries: 7, elapsedMs: 9_800 }), { kind: "stop", exhausted: true }],
    ["retry-after within its cap is waited exactly", situation({ verdict: overload, retryAfterMs: 2_000 }), { kind: "retry", waitMs: 2_000 }],
    ["retry-after above its cap → the answer goes to the client", situation({ verdict: overload, retryAfterMs: 6_000 }), { kind: "stop", exhausted: false }],
    ["retry-after above its cap, policy any → the fallback lane", situation({ verdict: overload, retryAfterMs: 6_000, hasFallback: true, policy: "any" }), { kind: "fallback" }],
    ["not retryable → stop, not exhausted", situation({ failure: "client_abort" }), { kind: "stop", exhausted: false }],
    ["a quota wall, the chain has a lane that can take it → reroute", situation({ verdict: wall, hasReroute: true, hasFallback: true, policy: "any" }), { kind: "reroute" }],
    [
      "a quota wall, no lane left in the chain → stop, not exhausted (never retried, not a fallback)",
      situation({ verdict: wall, hasFallback: true, policy: "any" }),
      { kind: "stop", exhausted: false },
    ],
    ["a lane left in the chain does not move what is not a quota wall", situation({ verdict: retryable, hasReroute: true }), { kind: "retry", waitMs: 50 }],
  ] as [string, Situation, unknown][])("%s", (_name, s, next) => {
    expect(nextStep(s)).toEqual(next as never);
  });
});

/** Lanes a (auto, falls back to b) and b (h1), with a fast retry, in a throw-away state directory. */
function lanes(policy: "off" | "network" | "any", attempts = 3) {
  const home = mkdtempSync(join(tmpdir(), "ccp-loop-"));
  const file = join(home, "ccp.toml");
  writeFileSync(
    file,
    `fallback = "${policy}"
[lanes.a]
base_url = "https://a.example"
transport = "auto"
fallback_lane = "b"
retry = { attempts = ${attempts}, base_ms = 100, cap_ms = 1000, budget_ms = 10000 }
[lanes.b]
base_url = "https://b.example"
transport = "h1"
retry = { attempts = ${attempts}, base_ms = 100, cap_ms = 1000, budget_ms = 10000 }
[[routes]]
match = "*"
lane = "a"
`,
  );
  return loadConfig({ file, env: { HOME: home, CCP_HOME: join(home, "state") }, port: 0 }).lanes;
}

const ok: Step = { status: 200, headers: [["content-type", "text/event-stream"]], body: sseAnswer() };

type Script = readonly Step[] | ((lane: string, n: number) => Step);

/** Runs the loop over a script: the steps in order, then healthy answers; or a step per attempt. */
async function run(policy: "off" | "network" | "any", script: Script, attempts = 3) {
  const config = lanes(policy, attempts);
  const { factory, sent } = scriptedTransports((lane, _protocol, n) => (typeof script === "function" ? script(lane.name, n) : (script[n - 1] ?? ok)));
  const runtimes = createLaneRuntimes(config, newLiveState([]), factory);
  const waits: number[] = [];
  let clock = 0;
  const result = await runAttempts({
    first: runtimes.get("a")!,
    lanes: runtimes,
    fallback: policy,
    build: (lane) => ({ url: new URL(`${lane.base_url}/v1/messages`), method: "POST", headers: [], body: undefined }),
    expects: "stream",
    signal: new AbortController().signal,
    now: () => clock,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    random: () => 0.5,
  });
  if (result.kind === "committed") result.release();
  // What the client gets: the committed stream's status, else ccp's answer (answers.ts).
  const final = result.kind === "committed" ? result.peeked.response.status : answerUncommitted(result, "ccp_test", undefined).status;
  return { result, waits, final, sent: sent.map((s) => `${s.lane}/${s.protocol}`), outcomes: result.attempts.map((a) => `${a.lane}/${a.protocol}/${a.outcome}`) };
}

const TRANSPORT_CLASSES = FAILURE_CLASSES.filter((c) => !["http_status", "in_stream_error", "client_abort", "shutdown", "queue_full", "queue_timeout"].includes(c));

describe("runAttempts: every transport failure class, under every fallback policy, then a healthy answer", () => {
  const rows = TRANSPORT_CLASSES.flatMap((failure) => (["off", "network", "any"] as const).map((policy) => [failure, policy] as const));
  test.each(rows)("%s, fallback %s", async (failure: FailureClass, policy) => {
    const { result, waits, outcomes } = await run(policy, [{ fail: failure }]);
    const t = FAILURE_TABLE[failure];
    // The first attempt is the auto lane's h2; what follows is what the table says.
    if (t.h2) {
      expect(outcomes).toEqual([`a/h2/${failure}`, "a/h1/ok"]);
      expect(result.downgraded).toBe(true);
      expect(waits).toEqual([]);
    } else if (t.network && policy !== "off") {
      expect(outcomes).toEqual([`a/h2/${failure}`, "b/h1/ok"]);
      expect(result.fallbackFrom).toBe("a");
      expect(waits).toEqual([]);
    } else if (t.retryable) {
      expect(outcomes).toEqual([`a/h2/${failure}`, "a/h2/ok"]);
      expect(waits).toEqual([fullJitterMs(0, 100, 1000, () => 0.5)]);
    } else {
      expect(outcomes).toEqual([`a/h2/${failure}`]);
    }
    expect(result.kind).toBe(t.retryable || t.h2 ? "committed" : "failed");
  });
});

describe("runAttempts: answers the upstream gives, under every fallback policy, with and without the auto downgrade", () => {
  const status = (s: number, body = "{}", headers: [string, string][] = []): Step => ({ status: s, headers: [["content-type", "application/json"], ...headers], body });
  const streamError = (error: unknown): Step => ({ status: 200, headers: [["content-type", "text/event-stream"]], body: `event: error\ndata: ${JSON.stringify({ type: "error", error })}\n\n` });
  const burst = streamError({ type: "rate_limit_error", message: "[1302] busy" });
  const html: Step = { status: 200, headers: [["content-type", "text/html"]], body: "<html>" };
  /** Lane a answers `step` for ever (its fallback lane b is healthy). */
  const always =
    (step: Step): Script =>
    (lane) =>
      lane === "a" ? step : ok;
  const times = (n: number, outcome: string) => Array<string>(n).fill(outcome);
  // Back-off with random 0.5: half of min(cap 1000, base 100·2ⁿ) for the lane's n-th retry. An
  // overload is retried until the next wait would pass the 10 s budget (the clock is the waits).
  const OVERLOAD_WAITS = [50, 100, 200, 400, ...Array<number>(18).fill(500)];

  /** Outcomes on lane a (h2; after the downgrade, h1), the waits, and the status the client gets. */
  type Shape = { readonly outcomes: string[]; readonly waits: number[]; readonly final: number };
  /** Rows: the script; with policy off (and network: none of these is a network failure); the same after a dead h2 session first; does policy any then try lane b. */
  const rows: [string, Script, Shape, Shape, boolean][] = [
    ["400", [status(400)], { outcomes: ["http_status"], waits: [], final: 400 }, { outcomes: ["http_status"], waits: [], final: 400 }, false],
    ["401", [status(401)], { outcomes: ["http_status"], waits: [], final: 401 }, { outcomes: ["http_status"], waits: [], final: 401 }, false],
    ["a 1308 quota wall", [status(429, '{"error":{"code":"1308"}}')], { outcomes: ["http_status"], waits: [], final: 429 }, { outcomes: ["http_status"], waits: [], final: 429 }, false],
    ["500, then healthy", [status(500)], { outcomes: ["http_status", "ok"], waits: [50], final: 200 }, { outcomes: ["http_status", "ok"], waits: [100], final: 200 }, false],
    // The downgraded attempt counts among the lane's 3.
    ["500 for ever", always(status(500)), { outcomes: times(3, "http_status"), waits: [50, 100], final: 500 }, { outcomes: times(2, "http_status"), waits: [100], final: 500 }, true],
    [
      "529 five times (past the attempt count), then healthy",
      Array(5).fill(status(529)),
      { outcomes: [...times(5, "http_status"), "ok"], waits: [50, 100, 200, 400, 500], final: 200 },
      { outcomes: [...times(5, "http_status"), "ok"], waits: [100, 200, 400, 500, 500], final: 200 },
      false,
    ],
    [
      "529 for ever",
      always(status(529)),
      { outcomes: times(23, "http_status"), waits: OVERLOAD_WAITS, final: 529 },
      { outcomes: times(22, "http_status"), waits: OVERLOAD_WAITS.slice(1), final: 529 },
      true,
    ],
    [
      "an in-stream [1302] twice, then healthy",
      [burst, burst],
      { outcomes: ["in_stream_error", "in_stream_error", "ok"], waits: [50, 100], final: 200 },
      { outcomes: ["in_stream_error", "in_stream_error", "ok"], waits: [100, 200], final: 200 },
      false,
    ],
    [
      "an in-stream [1302] for ever: ccp's own 529",
      always(burst),
      { outcomes: times(23, "in_stream_error"), waits: OVERLOAD_WAITS, final: 529 },
      { outcomes: times(22, "in_stream_error"), waits: OVERLOAD_WAITS.slice(1), final: 529 },
      true,
    ],
    [
      "an in-stream invalid_request_error: the status its type stands for",
      [streamError({ type: "invalid_request_error", message: "no" })],
      { outcomes: ["in_stream_error"], waits: [], final: 400 },
      { outcomes: ["in_stream_error"], waits: [], final: 400 },
      false,
    ],
    [
      "HTML with 200 to a stream request: a protocol failure, retried",
      [html],
      { outcomes: ["protocol", "ok"], waits: [50], final: 200 },
      { outcomes: ["protocol", "ok"], waits: [100], final: 200 },
      false,
    ],
    ["HTML with 200 for ever: ccp's 502", always(html), { outcomes: times(3, "protocol"), waits: [50, 100], final: 502 }, { outcomes: times(2, "protocol"), waits: [100], final: 502 }, true],
    [
      "an error envelope with 200: judged as an in-stream error",
      [status(200, '{"type":"error","error":{"type":"overloaded_error","message":"busy"}}')],
      { outcomes: ["in_stream_error", "ok"], waits: [50], final: 200 },
      { outcomes: ["in_stream_error", "ok"], waits: [100], final: 200 },
      false,
    ],
    [
      "retry-after within its cap is waited exactly",
      [status(429, "{}", [["retry-after", "2"]])],
      { outcomes: ["http_status", "ok"], waits: [2_000], final: 200 },
      { outcomes: ["http_status", "ok"], waits: [2_000], final: 200 },
      false,
    ],
    // Not exhausted: the answer (and its retry-after) goes to the client; policy any tries lane b first.
    [
      "retry-after above its cap: the answer to the client at once, or lane b",
      [status(429, "{}", [["retry-after", "30"]])],
      { outcomes: ["http_status"], waits: [], final: 429 },
      { outcomes: ["http_status"], waits: [], final: 429 },
      true,
    ],
  ];
  const cases = rows.flatMap(([name, script, plain, downgraded, anyFallsBack]) =>
    (["off", "network", "any"] as const).flatMap((policy) => [
      [name, policy, "", script, plain, anyFallsBack] as const,
      [name, policy, ", after a dead h2 session", script, downgraded, anyFallsBack] as const,
    ]),
  );

  test.each(cases)("%s, fallback %s%s", async (_name, policy, downgrade, script, shape, anyFallsBack) => {
    // The downgrade: the auto lane's first attempt (h2) dies; the script then plays on h1.
    const played: Script = !downgrade ? script : (lane, n) => (n === 1 ? { fail: "dead_session" } : typeof script === "function" ? script(lane, n - 1) : (script[n - 2] ?? ok));
    const r = await run(policy, played);
    const onA = [...(downgrade ? ["a/h2/dead_session"] : []), ...shape.outcomes.map((o) => `a/${downgrade ? "h1" : "h2"}/${o}`)];
    const fallsBack = policy === "any" && anyFallsBack;
    expect(r.outcomes).toEqual(fallsBack ? [...onA, "b/h1/ok"] : onA);
    expect(r.waits).toEqual(shape.waits);
    expect(r.result.downgraded).toBe(Boolean(downgrade));
    expect(r.result.fallbackFrom).toBe(fallsBack ? "a" : undefined);
    expect(r.final).toBe(fallsBack ? 200 : shape.final);
  });
});

describe("the answer when an overload outlasts the lane's budget: retry-after from the lane's state", () => {
  /** Lane a throttled for ever (429 without a quota code: an overload ccp answers with its own 529); lane b healthy. */
  const always429: Script = (lane) => (lane === "a" ? { status: 429, headers: [["content-type", "application/json"]], body: "{}" } : ok);
  test.each([
    // The back-off cap (1 s) plus a second per request queued per slot (the lane is at 1 after the storm), at most 60 s.
    [0, "1"],
    [1, "2"],
    [5, "6"],
    [100, "60"],
  ])("%i requests queued on the lane: retry-after %s, x-should-retry false", async (queued, retryAfter) => {
    const { result } = await run("off", always429);
    expect(result).toMatchObject({ kind: "answer", exhausted: true });
    const limiter = result.runtime.limiter;
    expect(limiter.limit).toBe(1);
    const held = await limiter.acquire();
    const leave = new AbortController();
    const waiting = Array.from({ length: queued }, () => limiter.acquire(leave.signal).catch(() => undefined));
    expect(limiter.queueDepth).toBe(queued);
    const { response, status } = answerUncommitted(result as Extract<typeof result, { kind: "answer" }>, "ccp_test", undefined);
    expect(status).toBe(529);
    expect(response.headers.get("retry-after")).toBe(retryAfter);
    expect(response.headers.get("x-should-retry")).toBe("false");
    leave.abort();
    await Promise.all(waiting);
    held();
  });

  test("per slot: 8 queued on a lane of 4 count 2 s, 9 count 3 s", async () => {
    const { result } = await run("off", always429);
    const limiter = new AdaptiveLimiter({ max: 4, queueMax: 100, queueTimeoutMs: 60_000 });
    const held = await Promise.all(Array.from({ length: 4 }, () => limiter.acquire()));
    const leave = new AbortController();
    const waiting = Array.from({ length: 8 }, () => limiter.acquire(leave.signal).catch(() => undefined));
    expect(laneRetryAfterS({ lane: result.runtime.lane, limiter })).toBe(3);
    waiting.push(limiter.acquire(leave.signal).catch(() => undefined));
    expect(laneRetryAfterS({ lane: result.runtime.lane, limiter })).toBe(4);
    leave.abort();
    await Promise.all(waiting);
    for (const h of held) h();
  });

  test("an upstream 529 with its own retry-after keeps it, whatever the queue", async () => {
    const { result } = await run("off", (lane) =>
      lane === "a"
        ? {
            status: 529,
            headers: [
              ["content-type", "application/json"],
              ["retry-after", "7"],
            ],
            body: "{}",
          }
        : ok,
    );
    const held = await result.runtime.limiter.acquire();
    const leave = new AbortController();
    const waiting = Array.from({ length: 5 }, () => result.runtime.limiter.acquire(leave.signal).catch(() => undefined));
    const { response } = answerUncommitted(result as Extract<typeof result, { kind: "answer" }>, "ccp_test", undefined);
    expect(response.headers.get("retry-after")).toBe("7");
    expect(response.headers.get("x-should-retry")).toBe("false");
    leave.abort();
    await Promise.all(waiting);
    held();
  });
});
