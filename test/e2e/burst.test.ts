import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { laneConfig, startCcp } from "../support/ccp.ts";
import { runClaude } from "../support/claude.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";

/**
 * Burst storms are absorbed with no configuration (issue 19, rule 5): N parallel Claude Code
 * sessions, their own retries off, against a provider that admits K = 2 concurrent streams and
 * answers the others at once with HTTP 200 + an in-stream [1302] (Z.ai's burst limit). The lane
 * sets no max_concurrency: ccp's adaptive limiter engages at the first refusal, the others wait
 * in its queue, and every session gets its answer. Once ccp had three seconds to adapt (the 16 clients start
 * over seconds on a busy 2-core machine), the provider
 * never sees more than K + 1 requests at once (refused ones included).
 */
const K = 2;
let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

describe("a burst of Claude Code sessions against a provider that admits two streams, no concurrency configured", () => {
  for (const n of [8, 16]) {
    test(`${n} sessions all succeed; after adapting the provider sees at most ${K + 1} at once`, async () => {
      await upstream.reset();
      await upstream.limit({ maxConcurrent: K, delayMs: 100, settleMs: 3000 });
      // The zai lane as a new user has it: no max_concurrency, the default retry settings.
      const ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "zai-lane-key-1234567890" } });
      try {
        const results = await Promise.all(Array.from({ length: n }, () => runClaude(ccp.url, { model: "claude-haiku-4-5", env: { CLAUDE_CODE_MAX_RETRIES: "0" }, timeoutMs: 150_000 })));
        const failed = results.filter((r) => r.json?.is_error !== false);
        expect(failed.map((r) => String(r.json?.result ?? r.stderr).slice(0, 200))).toEqual([]);
        const stats = await upstream.limitStats();
        expect(stats.rejected).toBeGreaterThan(0); // the storm happened
        expect(stats.peak).toBeLessThanOrEqual(K);
        console.log(`provider: ${JSON.stringify(stats)}`);
        // Issue 19's bound. Streams this short (100 ms to their head) often end before a refusal comes, so
        // the refusal that teaches the ceiling (one while admitted streams flow) may come after the 3 s:
        // one probe of K + 1. Longer streams teach it at once (cluster.test.ts holds the fleet to K).
        expect(stats.peakSeenAfterSettle).toBeLessThanOrEqual(K + 1);
        const lines = (await ccp.usage(n)).filter((l) => l.op === "messages" && l.lane === "zai");
        expect(lines.filter((l) => l.status === 200 && l.failure_class === null).length).toBeGreaterThanOrEqual(n);
        const metrics = await (await fetch(`${ccp.url}/metrics`)).text();
        expect(metrics).toMatch(/ccp_lane_concurrency_limit\{lane="zai"\} \d/);
      } finally {
        await ccp.stop();
      }
    }, 240_000);
  }
});
