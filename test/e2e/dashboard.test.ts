import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromiumUnavailable, launchChromium } from "../support/chromium.ts";
import { laneConfig, ROOT } from "../support/ccp.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { startInProcess, type InProcessCcp } from "../support/in-process.ts";
import { parseExposition, sample } from "../support/prometheus.ts";

/** The page's globals, as the predicates below use them (the project's tsconfig has no DOM lib). */
declare const document: { body: { dataset: Record<string, string | undefined> }; querySelector(s: string): { textContent: string | null } | null };

const why = chromiumUnavailable();
if (why) console.warn(`dashboard test skipped: no headless Chromium (${why})`);

let upstream: FakeUpstream;
let ccp: InProcessCcp;
beforeAll(async () => {
  if (why) return;
  upstream = await startFakeUpstream();
  // The subscription lane's answers say where its plan stands: the Plans panel shows it.
  await upstream.setHeaders(
    { "anthropic-ratelimit-unified-5h-utilization": "0.42", "anthropic-ratelimit-unified-5h-reset": String(Math.floor(Date.now() / 1000) + 7_200) },
    { pathPrefix: "/anthropic" },
  );
  ccp = startInProcess(laneConfig(upstream.url, upstream.caFile, { extra: "[lanes.zai.retry]\nattempts = 1\n" }), { ZAI_API_KEY: "z-key" });
});
afterAll(async () => {
  await ccp?.stop(100);
  await upstream?.close();
});

/** Bounded traffic: `n` requests, 120 ms apart, every fifth a 529 on zai (a failure the table must highlight). */
async function traffic(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const fail = i % 5 === 4;
    if (fail) await upstream.script([{ kind: "status", status: 529 }], { pathPrefix: "/zai" });
    else await upstream.script([{ kind: "normal", text: "hello there", firstEventDelayMs: 20 + (i % 7) * 40 }], { pathPrefix: i % 2 ? "/zai" : "/anthropic" });
    const model = fail || i % 2 ? "claude-haiku-4-5" : "claude-sonnet-4-5";
    const res = await fetch(`${ccp.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "sk-ant-api03-k" },
      body: JSON.stringify({ model, stream: true, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
    });
    await res.text();
    await Bun.sleep(120);
  }
}

test.skipIf(Boolean(why))(
  "the dashboard, in headless Chromium, shows live numbers that match /metrics",
  async () => {
    const browser = await launchChromium();
    let flowing: Promise<void> = Promise.resolve();
    try {
      const page = await browser.newPage();
      flowing = traffic(30);
      await page.goto(`${ccp.url}/dashboard`);
      await page.waitForFunction(() => Number(document.body.dataset.loaded ?? 0) > 0, undefined, { timeout: 20_000 });
      const early = Number(await page.textContent('[data-k="requests"]'));
      // Refreshed live while traffic flows: the count grows without a reload.
      await page.waitForFunction((n) => Number(document.querySelector('[data-k="requests"]')?.textContent) > n + 3, early, { timeout: 20_000 });
      await flowing;

      const m = await parseExposition(await (await fetch(`${ccp.url}/metrics`)).text());
      const total = sample(m, "ccp_requests_total");
      expect(total).toBe(30);
      await page.waitForFunction((n) => document.body.dataset.loaded === String(n), total, { timeout: 10_000 });
      const shown = async (k: string, scope = "") => (await page.textContent(`${scope} [data-k="${k}"]`))?.trim();
      expect(Number(await shown("requests"))).toBe(total);
      const errors = sample(m, "ccp_request_errors_total");
      expect(errors).toBe(6);
      expect(Number(await shown("errors"))).toBe(errors);
      expect(Number(await shown("inflight"))).toBe(sample(m, "ccp_inflight_requests"));
      expect(Number(await shown("retries"))).toBe(sample(m, "ccp_retries_total"));
      const failedAttempts = (lane?: string) =>
        sample(m, "ccp_upstream_attempts_total", lane ? { lane } : {}) - sample(m, "ccp_upstream_attempts_total", lane ? { lane, outcome: "ok" } : { outcome: "ok" });
      expect(Number(await shown("failed_attempts"))).toBe(failedAttempts());
      for (const lane of ["zai", "anthropic"]) {
        const row = `#lanes tr[data-lane="${lane}"]`;
        expect(Number(await shown("lane_requests", row))).toBe(sample(m, "ccp_requests_total", { lane }));
        expect(Number(await shown("lane_errors", row))).toBe(sample(m, "ccp_request_errors_total", { lane }));
        expect(Number(await shown("lane_failed_attempts", row))).toBe(failedAttempts(lane));
        const protocol = m.families.find((f) => f.name === "ccp_lane_protocol")!.metrics.find((s) => s.labels?.lane === lane && s.value === "1")!.labels!.protocol;
        expect(await shown("protocol", row)).toBe(protocol);
        expect(await shown("state", row)).toBe("reachable");
      }
      // Failures highlighted: every 529 row, and only those.
      const failed = await page.$$eval("#recent tr.fail td.st", (tds) => tds.map((td) => td.textContent));
      expect(failed).toEqual(Array(6).fill("529"));
      expect(await page.$$eval("#recent tr", (trs) => trs.length)).toBe(30);
      // The Plans panel: the Anthropic lane's 5-hour window as its answers said; Z.ai's lane has no reading.
      expect(await shown("used", '#quota tr[data-plan="anthropic"]')).toBe("42%");
      expect(await page.textContent('#quota tr[data-plan="anthropic"]')).toContain("5h");
      // The ttft chart has a p50 line, and the hour's percentiles are shown.
      expect(await page.$eval("#chart path", (p) => (p.getAttribute("d") ?? "").length)).toBeGreaterThan(0);
      expect(await shown("ttft_p50")).toMatch(/^\d+(\.\d+)? m?s$/);

      const dir = join(ROOT, ".tmp", "artifacts");
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, "dashboard.png"), fullPage: true });
    } finally {
      await browser.close();
      await flowing.catch(() => {});
    }
  },
  120_000,
);

test.skipIf(Boolean(why))(
  "the Plans panel marks a walled plan (its code and the time to its reset) and overage in use",
  async () => {
    const reset = Math.floor(Date.now() / 1000) + 45 * 60;
    await upstream.setHeaders(
      {
        "anthropic-ratelimit-unified-5h-utilization": "1.02",
        "anthropic-ratelimit-unified-5h-reset": String(reset),
        "anthropic-ratelimit-unified-overage-status": "allowed",
        "anthropic-ratelimit-unified-overage-in-use": "true",
      },
      { pathPrefix: "/anthropic" },
    );
    const rejected = { "anthropic-ratelimit-unified-status": "rejected", "anthropic-ratelimit-unified-5h-status": "rejected" };
    await upstream.script([{ kind: "status", status: 429, headers: rejected, body: { type: "error", error: { type: "rate_limit_error", message: "limit reached" } } }], {
      pathPrefix: "/anthropic",
    });
    const res = await fetch(`${ccp.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "sk-ant-api03-k" },
      body: JSON.stringify({ model: "claude-sonnet-4-5", stream: true, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
    });
    await res.text();
    expect(res.status).toBe(429);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${ccp.url}/dashboard`);
      const row = '#quota tr[data-plan="anthropic"]';
      await page.waitForSelector(`${row} [data-k="wall"]`, { timeout: 20_000 });
      expect((await page.textContent(`${row} [data-k="wall"]`))?.trim()).toMatch(/^walled rejected ↻4[45]m$/);
      expect(await page.$$eval(`${row} [data-k="overage"]`, (els) => els.map((e) => e.textContent))).toEqual(["overage (warn)"]);
      expect(await page.$$eval('#quota tr[data-plan="zai"] [data-k="wall"], #quota tr[data-plan="zai"] [data-k="overage"]', (els) => els.length)).toBe(0);
    } finally {
      await browser.close();
    }
  },
  60_000,
);
