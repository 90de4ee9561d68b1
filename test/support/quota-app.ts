import type { Lane } from "../../src/config/config.ts";
import { inProcessApp, sseAnswer, type Step } from "./scripted.ts";

/** Two lanes (anthropic passthrough, zai keyed), a route for Haiku over a chain of them, the rest to anthropic. */
export const CONFIG = (o: { threshold?: number; overage?: string; chain?: string; match?: string } = {}) => `
[lanes.anthropic]
base_url = "https://anthropic.example"
transport = "h1"
overage = "${o.overage ?? "warn"}"
retry = { attempts = 3, base_ms = 1, cap_ms = 2 }

[lanes.zai]
base_url = "https://zai.example/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
transport = "h1"
dialect = "zai"
quota_url = ""
retry = { attempts = 3, base_ms = 1, cap_ms = 2 }

[[routes]]
match = "${o.match ?? "claude-haiku-*"}"
lanes = ${o.chain ?? '["zai", "anthropic"]'}
quota_threshold = ${o.threshold ?? 1}

[[routes]]
match = "*"
lane = "anthropic"
`;

export const ENV = { ZAI_API_KEY: "zai-lane-key-123456" };
export const HOUR = 3_600_000;
export const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);
export const ok = (headers: [string, string][] = []): Step => ({ status: 200, headers: [["content-type", "text/event-stream"], ...headers], body: sseAnswer("hello") });
/** Z.ai's five-hour wall, its reset in China time (UTC+8): 2026-12-04 23:00 there is 15:00 UTC, T0 + 3 h. */
export const WALL_TEXT = "Usage limit reached for 5 hour. Your limit will reset at 2026-12-04 23:00:00";
export const post = (model = "claude-haiku-4-5", key = "client-key-a"): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", "x-api-key": key },
  body: JSON.stringify({ model, max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }] }),
});

/** An app whose lanes answer from per-lane queues (then `ok`), and whose clock the test moves. */
export function quotaApp(toml: string, queues: Record<string, Step[]>) {
  const clock = { now: T0 };
  const next = (lane: Lane) => queues[lane.name]?.shift() ?? ok();
  const a = inProcessApp(toml, next, ENV, { clock: () => clock.now });
  return { ...a, clock, lanes: () => a.sent.map((s) => s.lane) };
}
