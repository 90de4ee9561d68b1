import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { RetrySettings } from "../../src/config/schema.ts";
import { nextStep, runAttempts, type Situation } from "../../src/resilience/attempt-loop.ts";
import { fullJitterMs } from "../../src/resilience/backoff.ts";
import { createLaneRuntimes } from "../../src/resilience/lanes.ts";
import { FAILURE_CLASSES, FAILURE_TABLE, type FailureClass } from "../../src/upstream/failure.ts";
import { newLiveState } from "../../src/usage/live.ts";
import { scriptedTransports, sseAnswer, type Step } from "../support/scripted.ts";

/**
 * The attempt loop, driven in process by scripted transports: every failure class, answered
 * statuses and in-stream errors, the fallback policies and the `auto` downgrade, each with
 * the exact attempts, waits, fallbacks and final result it must give. Waits are recorded, not
 * slept; the jitter's random is fixed.
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

async function run(policy: "off" | "network" | "any", steps: Step[], attempts = 3) {
  const config = lanes(policy, attempts);
  const { factory, sent } = scriptedTransports((_lane, _protocol, n) => steps[n - 1] ?? ok);
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
  return { result, waits, sent: sent.map((s) => `${s.lane}/${s.protocol}`), outcomes: result.attempts.map((a) => `${a.lane}/${a.protocol}/${a.outcome}`) };
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

describe("runAttempts: answers the upstream gives", () => {
  const status = (s: number, body = "{}", headers: [string, string][] = []): Step => ({
    status: s,
    headers: [["content-type", "application/json"], ...headers],
    body,
  });
  const streamError = (error: unknown): Step => ({
    status: 200,
    headers: [["content-type", "text/event-stream"]],
    body: `event: error\ndata: ${JSON.stringify({ type: "error", error })}\n\n`,
  });

  test.each([
    ["400 is passed on at once", [status(400)], ["a/h2/http_status"], "answer", false],
    ["401 is passed on at once", [status(401)], ["a/h2/http_status"], "answer", false],
    ["a 1308 quota wall is passed on at once", [status(429, '{"error":{"code":"1308"}}')], ["a/h2/http_status"], "answer", false],
    ["500, then healthy", [status(500)], ["a/h2/http_status", "a/h2/ok"], "committed", false],
    ["529 five times (past the attempt count), then healthy", Array(5).fill(status(529)), [...Array(5).fill("a/h2/http_status"), "a/h2/ok"], "committed", false],
    [
      "an in-stream [1302] twice, then healthy",
      [streamError({ type: "rate_limit_error", message: "[1302] busy" }), streamError({ type: "rate_limit_error", message: "[1302] busy" })],
      ["a/h2/in_stream_error", "a/h2/in_stream_error", "a/h2/ok"],
      "committed",
      false,
    ],
    ["an in-stream invalid_request_error is passed on", [streamError({ type: "invalid_request_error", message: "no" })], ["a/h2/in_stream_error"], "answer", false],
    ["HTML with 200 to a stream request is a protocol failure, retried", [{ status: 200, headers: [["content-type", "text/html"]], body: "<html>" }], ["a/h2/protocol", "a/h2/ok"], "committed", false],
    [
      "an error envelope with 200 is judged as an in-stream error",
      [status(200, '{"type":"error","error":{"type":"overloaded_error","message":"busy"}}')],
      ["a/h2/in_stream_error", "a/h2/ok"],
      "committed",
      false,
    ],
  ] as [string, Step[], string[], string, boolean][])("%s", async (_name, steps, outcomes, kind) => {
    const r = await run("off", steps);
    expect(r.outcomes).toEqual(outcomes);
    expect(r.result.kind as string).toBe(kind);
  });

  test("a lasting overload: retried until the time budget is spent, then an exhausted answer; waits never above cap", async () => {
    const r = await run("off", Array(200).fill(status(529)));
    expect(r.result).toMatchObject({ kind: "answer", exhausted: true, verdict: { overload: true } });
    expect(r.outcomes.length).toBeGreaterThan(3);
    expect(Math.max(...r.waits)).toBeLessThanOrEqual(1000);
    expect(r.waits.reduce((a, b) => a + b, 0)).toBeLessThan(10_000);
  });

  test("retry-after above its cap: one attempt, the answer (and its retry-after) to the client", async () => {
    const r = await run("off", [status(429, "{}", [["retry-after", "30"]])]);
    expect(r.outcomes).toEqual(["a/h2/http_status"]);
    expect(r.result).toMatchObject({ kind: "answer", exhausted: false });
  });

  test("retry-after within its cap is waited exactly", async () => {
    const r = await run("off", [status(429, "{}", [["retry-after", "2"]])]);
    expect(r.waits).toEqual([2_000]);
    expect(r.outcomes).toEqual(["a/h2/http_status", "a/h2/ok"]);
  });

  test("policy any: a lane's retries spent on 500s, then its fallback lane answers", async () => {
    const r = await run("any", Array(3).fill(status(500)));
    expect(r.outcomes).toEqual(["a/h2/http_status", "a/h2/http_status", "a/h2/http_status", "b/h1/ok"]);
    expect(r.result.fallbackFrom).toBe("a");
  });
});
