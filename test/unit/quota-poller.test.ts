import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { QuotaDesk } from "../../src/quota/desk.ts";
import { type Fetcher, QuotaPoller, quotaUrlOf } from "../../src/quota/poller.ts";

/** The quota endpoint poller with a scripted fetch and the test's clock: when it asks, what it keeps, what it says. */
const KEY = "zai-secret-key-0123456789";
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);

function setup(answer: (init: RequestInit, n: number) => Response | Promise<Response>, toml = "") {
  const home = mkdtempSync(join(tmpdir(), "ccp-poll-"));
  const file = join(home, "ccp.toml");
  writeFileSync(
    file,
    `[lanes.zai]
base_url = "https://zai.example/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
dialect = "zai"
[lanes.anthropic]
base_url = "https://anthropic.example"
${toml}
[[routes]]
match = "*"
lane = "zai"
`,
  );
  const config = loadConfig({ file, env: { HOME: home, CCP_HOME: join(home, "state"), ZAI_API_KEY: KEY }, port: 0 });
  const clock = { now: T0 };
  const desk = QuotaDesk.of(
    config,
    () => {},
    () => clock.now,
  );
  const logs: string[] = [];
  const asked: { url: string; authorization: string }[] = [];
  const fetcher: Fetcher = async (url, init) => {
    asked.push({ url, authorization: new Headers(init.headers).get("authorization") ?? "" });
    return answer(init, asked.length);
  };
  const poller = new QuotaPoller(Object.values(config.lanes), desk, { info: (m) => logs.push(m), warn: (m) => logs.push(m) }, { fetcher, timeoutMs: 50 });
  poller.stop();
  return { config, desk, poller, clock, logs, asked, traffic: () => desk.lastTraffic.set("zai", clock.now) };
}

const quota = (pct5h: number) =>
  Response.json({
    code: 200,
    success: true,
    data: {
      limits: [
        { type: "TOKENS_LIMIT", percentage: pct5h, nextResetTime: T0 + 3_600_000 },
        { type: "TOKENS_LIMIT", percentage: 5, nextResetTime: T0 + 5 * 86_400_000 },
        { type: "TIME_LIMIT", percentage: 1, nextResetTime: T0 + 20 * 86_400_000 },
      ],
    },
  });

describe("the quota poller", () => {
  test('the endpoint: Z.ai\'s by default for a keyed zai lane, quota_url when set, none for quota_url = "" or a passthrough lane', () => {
    const { config } = setup(() => quota(1));
    expect(quotaUrlOf(config.lanes.zai!)).toBe("https://zai.example/api/monitor/usage/quota/limit");
    expect(quotaUrlOf(config.lanes.anthropic!)).toBeUndefined();
    expect(quotaUrlOf({ ...config.lanes.zai!, quota_url: "" })).toBeUndefined();
    expect(quotaUrlOf({ ...config.lanes.anthropic!, quota_url: "https://q.example/limits" })).toBe("https://q.example/limits");
  });

  test("asks only a lane with traffic in the last hour, at most once a minute, and keeps what it read", async () => {
    const p = setup(() => quota(42));
    await p.poller.tick();
    expect(p.asked).toHaveLength(0);
    expect(p.desk.polls.get("zai")).toBe("idle");
    p.traffic();
    await p.poller.tick();
    await p.poller.tick();
    expect(p.asked).toEqual([{ url: "https://zai.example/api/monitor/usage/quota/limit", authorization: KEY }]);
    const plan = p.desk.book.plans().find((x) => x.lane === "zai")!;
    expect([...plan.windows.values()].map((w) => [w.window, w.utilization, w.source])).toEqual([
      ["5h", 0.42, "endpoint"],
      ["7d", 0.05, "endpoint"],
      ["month_tools", 0.01, "endpoint"],
    ]);
    expect(p.desk.polls.get("zai")).toBe("ok");
    p.clock.now += 60_000;
    await p.poller.tick();
    expect(p.asked).toHaveLength(2);
    p.clock.now += 3_600_000;
    await p.poller.tick();
    expect(p.asked).toHaveLength(2);
    expect(p.desk.polls.get("zai")).toBe("idle");
  });

  test("a refused bare key is tried once as a bearer token, which is then kept", async () => {
    const p = setup((init) => (new Headers(init.headers).get("authorization")!.startsWith("Bearer ") ? quota(10) : new Response("no", { status: 401 })));
    p.traffic();
    await p.poller.tick();
    p.clock.now += 60_000;
    await p.poller.tick();
    expect(p.asked.map((a) => a.authorization)).toEqual([KEY, `Bearer ${KEY}`, `Bearer ${KEY}`]);
    expect(p.desk.polls.get("zai")).toBe("ok");
  });

  test("failures (status, timeout, a wrong shape, an answer too large) are logged once, show as failing, never throw; recovery is said", async () => {
    const answers: (() => Response | Promise<Response>)[] = [
      () => new Response("down", { status: 503 }),
      () => new Promise<Response>(() => {}),
      () => Response.json({ code: 500, msg: "nope" }),
      () => new Response("x".repeat(200_000)),
      () => quota(7),
    ];
    const p = setup((init, n) => {
      const make = answers[n - 1]!;
      return n === 2 ? new Promise<Response>((_, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason))) : make();
    });
    p.traffic();
    for (let i = 0; i < answers.length; i++) {
      await p.poller.tick();
      if (i < answers.length - 1) expect(p.desk.polls.get("zai")).toBe("failing");
      p.clock.now += 60_000;
      p.traffic();
    }
    expect(p.desk.polls.get("zai")).toBe("ok");
    const said = p.logs.join("\n");
    expect(p.logs.filter((l) => l.includes("quota endpoint failed"))).toHaveLength(1);
    expect(said).toContain("HTTP 503");
    expect(said).toContain("answers again");
    expect(said).not.toContain(KEY);
  });
});
