import { draftRecord } from "../../src/usage/draft.ts";
import type { AttemptRecord, UsageRecord } from "../../src/usage/record.ts";

/** A small deterministic PRNG (mulberry32), so generated data is the same every run. */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` varied usage records spread over the last `spanMs` before `now`: retries, fallbacks, errors, nulls. */
export function generateRecords(n: number, now: number, spanMs: number, seed = 7): UsageRecord[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const lane = pick(["zai", "anthropic"]);
    const proto = pick(["h1", "h2"] as const);
    const status = pick([200, 200, 200, 200, 429, 529, 504, 401]);
    const attempts: AttemptRecord[] = [];
    const tries = 1 + Math.floor(rnd() * 3);
    for (let t = 0; t < tries; t++) {
      const last = t === tries - 1;
      const onLane = last && rnd() < 0.2 ? (lane === "zai" ? "anthropic" : "zai") : lane;
      attempts.push({
        lane: onLane,
        protocol: t === 0 ? proto : "h1",
        outcome: last && status === 200 ? "ok" : pick(["headers_timeout", "http_status", "in_stream_error"] as const),
        status: null,
        ms: Math.round(rnd() * 500),
        wait_ms: t ? 10 : 0,
        code: null,
      });
    }
    const r = draftRecord(`ccp_gen${seed}_${String(i).padStart(5, "0")}`, "messages", "default", 8082);
    return {
      ...r,
      ts: new Date(now - Math.round(rnd() * spanMs)).toISOString(),
      lane: attempts.at(-1)!.lane,
      model: pick(["claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1"]),
      status,
      h2: attempts.at(-1)!.protocol === "h2",
      latency_ms: Math.round(rnd() * 20_000),
      ttft_ms: status === 200 && rnd() < 0.9 ? Math.round(rnd() * 5_000) : null,
      input_tokens: status === 200 ? Math.round(rnd() * 10_000) : null,
      output_tokens: status === 200 ? Math.round(rnd() * 1_000) : null,
      cache_read_input_tokens: rnd() < 0.5 ? Math.round(rnd() * 5_000) : null,
      cache_creation_input_tokens: rnd() < 0.3 ? Math.round(rnd() * 500) : 0,
      failure_class: status === 200 ? (rnd() < 0.05 ? "reset" : null) : "http_status",
      retries: attempts.length - 1,
      attempts,
      instance: pick(["box-a", "box-b"]),
      client: pick(["alice", "bob", "anonymous", null]),
      session_id: rnd() < 0.8 ? `session-${Math.floor(rnd() * 5)}` : null,
      agent_id: rnd() < 0.2 ? "agent-1" : null,
      ...pick([
        { route: 0, route_name: "long-context" },
        { route: 1, route_name: null },
        { route: null, route_name: null },
      ]),
    };
  });
}
