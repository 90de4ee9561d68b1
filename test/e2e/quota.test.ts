import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startCcp, type CcpProcess } from "../support/ccp.ts";
import { HAIKU, runClaude, SONNET } from "../support/claude.ts";
import { type Behaviour, type FakeUpstream, normalFrames, startFakeUpstream } from "../support/fake-upstream/index.ts";
import { runCli } from "../support/cli.ts";
import { toToml } from "../support/toml.ts";

/**
 * Plans and quotas as a user meets them, through the real Claude Code CLI and the real ccp against
 * the fake upstream: the subscription's unified headers reach Claude Code (its rate_limit_event),
 * a Z.ai wall moves Haiku to the Anthropic lane and the traffic comes back after the reset, and
 * every lane walled is one clear 429 that neither ccp nor Claude Code retries.
 */
let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});
beforeEach(async () => {
  await upstream.reset();
});

async function withCcp<T>(fn: (ccp: CcpProcess) => Promise<T>, zai: Record<string, unknown> = { quota_url: "" }): Promise<T> {
  const config = toToml({
    port: 0,
    lanes: {
      zai: { base_url: `${upstream.url}/zai/api/anthropic`, auth: "key", key_env: "ZAI_API_KEY", transport: "h1", dialect: "zai", ca_file: upstream.caFile, ...zai },
      anthropic: { base_url: `${upstream.url}/anthropic`, transport: "h2", ca_file: upstream.caFile },
    } as never,
    routes: [
      { match: "claude-haiku-*", lanes: ["zai", "anthropic"] },
      { match: "*", lane: "anthropic" },
    ] as never,
  });
  const ccp = await startCcp({ config, env: { ZAI_API_KEY: "zai-key-for-quota-tests" } });
  try {
    return await fn(ccp);
  } finally {
    await ccp.stop();
  }
}

/** A subscription login (Claude Code reads the unified headers of subscribers only). */
const SUBSCRIBER = { ANTHROPIC_API_KEY: "", CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-quota-test-subscriber" };
const messages = (path: string) => async () => (await upstream.requests()).filter((r) => r.path.startsWith(path) && r.path.includes("/v1/messages")).length;
const zaiCount = messages("/zai/");
const anthropicCount = messages("/anthropic/");
const lines = async (ccp: CcpProcess, n: number) => (await ccp.usage(n)).filter((l) => l.op === "messages");

/** "YYYY-MM-DD hh:mm:ss" in China time (UTC+8), as Z.ai writes its reset times. */
const chinaTime = (epochMs: number) =>
  new Date(epochMs + 8 * 3_600_000)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "");
const zaiWall = (resetsAt: number): Behaviour => ({
  kind: "status",
  status: 429,
  body: { type: "error", error: { type: "rate_limit_error", code: "1308", message: `Usage limit reached for 5 hour. Your limit will reset at ${chinaTime(resetsAt)}` } },
});

describe("plans and quotas, with the real Claude Code", () => {
  test("the unified headers reach Claude Code unchanged (its rate_limit_event has the scripted values), overage-* and 7d_opus reach a client unchanged; /quota keeps them", async () => {
    const reset = Math.floor(Date.now() / 1000) + 3_600;
    const headers: [string, string][] = [
      ["content-type", "text/event-stream"],
      ["anthropic-ratelimit-unified-status", "allowed_warning"],
      ["anthropic-ratelimit-unified-reset", String(reset)],
      ["anthropic-ratelimit-unified-representative-claim", "five_hour"],
      ["anthropic-ratelimit-unified-5h-utilization", "0.93"],
      ["anthropic-ratelimit-unified-5h-reset", String(reset)],
      ["anthropic-ratelimit-unified-5h-status", "allowed_warning"],
      ["anthropic-ratelimit-unified-5h-surpassed-threshold", "0.9"],
      ["anthropic-ratelimit-unified-7d-utilization", "0.41"],
      ["anthropic-ratelimit-unified-7d-reset", String(reset + 3 * 86_400)],
      ["anthropic-ratelimit-unified-7d-status", "allowed"],
      // A model's own weekly window, and the overage family: relayed as they came, like the rest.
      ["anthropic-ratelimit-unified-7d_opus-utilization", "0.62"],
      ["anthropic-ratelimit-unified-7d_opus-reset", String(reset + 2 * 86_400)],
      ["anthropic-ratelimit-unified-7d_opus-status", "allowed"],
      ["anthropic-ratelimit-unified-overage-status", "allowed"],
      ["anthropic-ratelimit-unified-overage-in-use", "true"],
      ["anthropic-ratelimit-unified-overage-utilization", "0.07"],
      ["anthropic-ratelimit-unified-overage-reset", String(reset + 86_400)],
      ["anthropic-ratelimit-unified-overage-disabled-reason", "out_of_credits"],
    ];
    const raw: Behaviour = { kind: "raw", status: 200, headers, pieces: normalFrames({ id: "msg_q", model: SONNET, text: "ok" }) };
    await upstream.script(Array<Behaviour>(12).fill(raw), { pathPrefix: "/anthropic/", endpoint: "messages" });
    await withCcp(async (ccp) => {
      const r = await runClaude(ccp.url, { model: SONNET, env: SUBSCRIBER, outputFormat: "stream-json" });
      const event = r.events.find((e) => e.type === "rate_limit_event") as { rate_limit_info: Record<string, unknown> } | undefined;
      expect(event?.rate_limit_info).toMatchObject({
        status: "allowed_warning",
        rateLimitType: "five_hour",
        utilization: 0.93,
        surpassedThreshold: 0.9,
        unifiedWindows: { five_hour: { utilization: 0.93, resetsAt: reset }, seven_day: { utilization: 0.41, resetsAt: reset + 3 * 86_400 } },
      });
      const quota = (await (await fetch(`${ccp.url}/quota`)).json()) as { plans: { lane: string; credential: string; windows: { window: string; utilization: number }[] }[] };
      const plan = quota.plans.find((p) => p.lane === "anthropic")!;
      expect(plan.credential).toMatch(/^client:[0-9a-f]{12}$/);
      expect(plan.windows.map((w) => [w.window, w.utilization])).toEqual([
        ["5h", 0.93],
        ["7d", 0.41],
        ["7d_opus", 0.62],
      ]);
      expect(JSON.stringify(quota)).not.toContain("quota-test-subscriber");
      // Every unified header, the overage family and the model's window included, reaches a client unchanged (here fetch, which shows them all).
      const res = await fetch(`${ccp.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${SUBSCRIBER.CLAUDE_CODE_OAUTH_TOKEN}`, "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: SONNET, stream: true, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
      });
      await res.text();
      expect(res.status).toBe(200);
      const unified = headers.filter(([k]) => k.startsWith("anthropic-ratelimit-unified-"));
      expect(unified.map(([k]) => [k, res.headers.get(k)])).toEqual(unified);
    });
  });

  test("a 1308 wall on the Z.ai lane moves Haiku to the Anthropic lane at once, the usage line says why, and traffic returns after the reset", async () => {
    const resetsAt = Math.ceil((Date.now() + 8_000) / 1000) * 1000;
    await upstream.script([zaiWall(resetsAt)], { pathPrefix: "/zai/", endpoint: "messages" });
    await withCcp(async (ccp) => {
      const first = await runClaude(ccp.url, { model: HAIKU, env: { CLAUDE_CODE_MAX_RETRIES: "0" } });
      expect(first.json).toMatchObject({ is_error: false, result: "ok" });
      expect([await zaiCount(), await anthropicCount()]).toEqual([1, 1]);
      const second = await runClaude(ccp.url, { model: HAIKU, env: { CLAUDE_CODE_MAX_RETRIES: "0" } });
      expect(second.json).toMatchObject({ is_error: false, result: "ok" });
      expect([await zaiCount(), await anthropicCount()]).toEqual([1, 2]);
      const [l1, l2] = (await lines(ccp, 2)).filter((l) => String(l.model).startsWith("claude-haiku"));
      expect(l1).toMatchObject({ lane: "anthropic", rerouted_from: "zai", reroute_reason: "quota_wall", status: 200 });
      expect(l2).toMatchObject({ lane: "anthropic", rerouted_from: "zai", reroute_reason: "quota_wall", status: 200 });
      expect((l1!.attempts as { lane: string; code: string | null }[]).map((a) => [a.lane, a.code])).toEqual([
        ["zai", "1308"],
        ["anthropic", null],
      ]);
      const metrics = await (await fetch(`${ccp.url}/metrics`)).text();
      expect(metrics).toContain('ccp_reroutes_total{from="zai",to="anthropic",reason="quota_wall"} 2');
      expect(metrics).toContain('ccp_quota_walls_total{lane="zai",window="5h"} 1');
      // Claude Code's status line, asked of this ccp with the stdin Claude Code gives it: the reroute shows.
      const stdin = JSON.stringify({ session_id: "s1", model: { id: HAIKU, display_name: "Haiku 4.5" }, workspace: { current_dir: "/tmp" } });
      const line = await runCli(["statusline", "--port", String(ccp.port)], { env: { HOME: ccp.home, CCP_HOME: `${ccp.home}/state`, NO_COLOR: "1" }, stdin });
      expect(line.code).toBe(0);
      expect(line.stdout.trim()).toStartWith("ccp ↪ anthropic (zai walled) ✓");

      await Bun.sleep(Math.max(0, resetsAt - Date.now() + 500));
      const third = await runClaude(ccp.url, { model: HAIKU, env: { CLAUDE_CODE_MAX_RETRIES: "0" } });
      expect(third.json).toMatchObject({ is_error: false, result: "ok" });
      expect([await zaiCount(), await anthropicCount()]).toEqual([2, 2]);
      const l3 = (await lines(ccp, 3)).filter((l) => String(l.model).startsWith("claude-haiku"))[2];
      expect(l3).toMatchObject({ lane: "zai", rerouted_from: null, reroute_reason: null });
    });
  }, 90_000);

  test("every lane walled: one clear 429 naming each reset, not retried by ccp nor by Claude Code (its retries on)", async () => {
    const resetsAt = Date.now() + 2 * 3_600_000;
    await upstream.script([zaiWall(resetsAt)], { pathPrefix: "/zai/", endpoint: "messages" });
    const rejected: Behaviour = {
      kind: "status",
      status: 429,
      headers: { "anthropic-ratelimit-unified-status": "rejected", "anthropic-ratelimit-unified-reset": String(Math.floor(resetsAt / 1000) + 600) },
      body: { type: "error", error: { type: "rate_limit_error", message: "This request would exceed your account's rate limit." } },
    };
    await upstream.script([rejected], { pathPrefix: "/anthropic/", endpoint: "messages" });
    await withCcp(async (ccp) => {
      const first = await runClaude(ccp.url, { model: HAIKU });
      expect(first.json?.is_error).toBe(true);
      const said = String(first.json?.result);
      expect(said).toContain("every lane for model");
      expect(said).toContain("zai: five-hour limit reached (1308)");
      expect(said).toContain("anthropic: five-hour limit reached (rejected)");
      expect([await zaiCount(), await anthropicCount()]).toEqual([1, 1]);
      const second = await runClaude(ccp.url, { model: HAIKU });
      expect(second.json?.is_error).toBe(true);
      expect([await zaiCount(), await anthropicCount()]).toEqual([1, 1]);
      // One request per run: Claude Code did not retry either answer.
      const seen = await lines(ccp, 2);
      expect(seen.map((l) => l.status)).toEqual([429, 429]);
      expect(seen[1]).toMatchObject({ status: 429, failure_class: "quota_wall", attempts: [] });
    });
  }, 90_000);

  test("a Z.ai lane's quota endpoint is read once it has traffic (the key as Z.ai's plugins send it), shown by /quota; a failing endpoint is logged once and shown as failing", async () => {
    const quotaPolls = async () => (await upstream.requests()).filter((r) => r.path.includes("/api/monitor/usage/quota/limit"));
    const waitFor = async (what: () => Promise<boolean>) => {
      const until = Date.now() + 20_000;
      while (!(await what()) && Date.now() < until) await Bun.sleep(200);
    };
    await withCcp(async (ccp) => {
      expect(await quotaPolls()).toHaveLength(0);
      const r = await runClaude(ccp.url, { model: HAIKU, env: { CLAUDE_CODE_MAX_RETRIES: "0" } });
      expect(r.json).toMatchObject({ is_error: false });
      await waitFor(async () => (await quotaPolls()).length > 0);
      const [poll] = await quotaPolls();
      // Z.ai's endpoint is at the origin of the lane's base URL, not under its path.
      expect(poll!.path).toBe("/api/monitor/usage/quota/limit");
      expect(poll!.headers.authorization).toBe("zai-key-for-quota-tests");
      type Body = { plans: { lane: string; poll: string; windows: { window: string; utilization: number; source: string }[] }[] };
      const zai = async () => ((await (await fetch(`${ccp.url}/quota`)).json()) as Body).plans.find((p) => p.lane === "zai")!;
      await waitFor(async () => (await zai()).poll === "ok");
      expect((await zai()).windows.map((w) => [w.window, w.utilization, w.source])).toEqual([
        ["5h", 0.2, "endpoint"],
        ["7d", 0.05, "endpoint"],
        ["month_tools", 0.01, "endpoint"],
      ]);
      const text = await (await fetch(`${ccp.url}/quota`)).text();
      expect(text).not.toContain("zai-key-for-quota-tests");
    }, {});

    await upstream.reset();
    await upstream.setQuota({ status: 500 });
    await withCcp(async (ccp) => {
      await runClaude(ccp.url, { model: HAIKU, env: { CLAUDE_CODE_MAX_RETRIES: "0" } });
      await waitFor(async () => /its quota endpoint failed/.test(ccp.output()));
      expect(ccp.output()).toMatch(/lane zai: its quota endpoint failed \(HTTP 500\)/);
      const body = (await (await fetch(`${ccp.url}/quota`)).json()) as { plans: { lane: string; poll: string }[] };
      expect(body.plans.find((p) => p.lane === "zai")!.poll).toBe("failing");
      expect(ccp.output()).not.toContain("zai-key-for-quota-tests");
    }, {});
  }, 90_000);
});
