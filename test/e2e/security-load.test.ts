import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { startCcp, type CcpProcess } from "../support/ccp.ts";
import { cliHome, expectExit, freePort, killLeftovers, runCli } from "../support/cli.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { rssOf } from "../support/raw-http.ts";
import { toToml } from "../support/toml.ts";
import { readUsageLines } from "../support/usage-file.ts";

/**
 * Nothing is lost under load and faults: every request that reached ccp (finished, failed
 * or aborted) has exactly one whole usage line, through client disconnects, upstream
 * failures, SIGTERM and `ccp restart`.
 */
let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

const config = () =>
  toToml({
    port: 0,
    persist: false,
    lanes: {
      anthropic: { base_url: `${upstream.url}/anthropic`, transport: "h2", ca_file: upstream.caFile, retry: { base_ms: 20, cap_ms: 100 } },
      zai: {
        base_url: `${upstream.url}/zai/api/anthropic`,
        auth: "key",
        key_env: "ZAI_API_KEY",
        transport: "h1",
        dialect: "zai",
        ca_file: upstream.caFile,
        retry: { base_ms: 20, cap_ms: 100 },
      },
    },
    routes: [
      { match: "claude-haiku-*", lane: "zai" },
      { match: "*", lane: "anthropic" },
    ],
  });

const body = (model: string) => JSON.stringify({ model, max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }] });
const post = (url: string, model: string, signal?: AbortSignal) =>
  fetch(`${url}/v1/messages?beta=true`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "sk-ant-api03-client" },
    body: body(model),
    signal,
  });

/** Every line of the usage log, raw: each must be one whole JSON object. */
function rawLines(file: string): string[] {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (text) expect(text.endsWith("\n")).toBe(true);
  const lines = text.split("\n").filter(Boolean);
  for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  return lines;
}

async function linesAtLeast(file: string, n: number, ms = 15_000): Promise<Record<string, unknown>[]> {
  const until = Date.now() + ms;
  while (readUsageLines(file).length < n && Date.now() < until) await Bun.sleep(50);
  await Bun.sleep(300); // and no more come after that
  return rawLines(file).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function expectOneLineEach(lines: Record<string, unknown>[], rids: readonly string[]) {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l.rid as string, (counts.get(l.rid as string) ?? 0) + 1);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  for (const rid of rids) expect(counts.get(rid)).toBe(1);
}

describe("200 concurrent streams, a quarter of the clients leaving mid-stream, upstream failures", () => {
  let ccp: CcpProcess;
  afterAll(async () => {
    await ccp?.stop();
  });

  test("the proxy stays up, memory stays bounded, and every request has exactly one usage line", async () => {
    await upstream.reset();
    // Streams last about a second (100 ms between events), so the aborts land mid-stream.
    await upstream.limit({ maxConcurrent: 10_000, delayMs: 100 });
    // Connection kills go to the zai lane (HTTP/1.1: one stream per connection). On the anthropic
    // lane (HTTP/2) one would take every stream of the shared session with it, the leaving
    // clients' included, and whether a leaver is recorded as client_abort or reset would be a race.
    await upstream.script(
      [
        ...Array(15).fill({ kind: "status", status: 529 }),
        ...Array(10).fill({ kind: "reset" }),
        ...Array(5).fill({ kind: "status", status: 400 }),
        ...Array(8).fill({ kind: "reset", afterEvents: 2 }),
      ],
      { pathPrefix: "/zai/" },
    );
    await upstream.script(Array(10).fill({ kind: "status", status: 503 }), { pathPrefix: "/anthropic/" });
    ccp = await startCcp({ config: config(), env: { ZAI_API_KEY: "zai-key" } });
    const rssStart = rssOf(ccp.pid);
    let rssPeak = rssStart;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(ccp.pid))), 100);

    const outcomes = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const leaves = i % 4 === 0;
        const abort = new AbortController();
        const res = await post(ccp.url, i % 2 ? "claude-haiku-4-5" : "claude-sonnet-4-5", abort.signal);
        const rid = res.headers.get("x-ccp-rid")!;
        const reader = res.body!.getReader();
        try {
          if (leaves && res.status === 200) {
            await reader.read();
            abort.abort();
            return { rid, status: res.status, left: true, text: "" };
          }
          let text = "";
          const dec = new TextDecoder();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            text += dec.decode(value, { stream: true });
          }
          return { rid, status: res.status, left: false, text };
        } catch {
          return { rid, status: res.status, left: leaves, text: "" };
        }
      }),
    );
    clearInterval(sampler);

    expect(outcomes.every((o) => typeof o.rid === "string" && o.rid.startsWith("ccp_"))).toBe(true);
    // Whatever failed upstream before commit was retried or answered with a status; after commit, an error frame.
    for (const o of outcomes.filter((x) => !x.left && x.status === 200)) expect(o.text).toMatch(/event: (message_stop|error)\n/);
    expect(outcomes.filter((o) => o.status === 400).length).toBe(5);

    const lines = await linesAtLeast(ccp.usageFile, 200);
    expect(lines.length).toBe(200);
    expectOneLineEach(
      lines,
      outcomes.map((o) => o.rid),
    );
    const aborted = lines.filter((l) => l.failure_class === "client_abort");
    // Every client that left is recorded as such (and most of the 50 that could leave did).
    expect(aborted.length).toBe(outcomes.filter((o) => o.left).length);
    expect(aborted.length).toBeGreaterThanOrEqual(25);
    expect(lines.filter((l) => (l.retries as number) > 0).length).toBeGreaterThanOrEqual(10);

    expect(rssPeak - rssStart).toBeLessThan(300 * 1024 * 1024);
    const health = await fetch(`${ccp.url}/healthz`);
    expect(health.status).toBe(200);
    expect(ccp.output()).not.toMatch(/unhandled|TypeError|RangeError/);
  });
});

describe("SIGTERM during traffic", () => {
  test("new connections are refused, in-flight streams finish within the grace, a stream that outlasts it is cut, and every usage line is flushed", async () => {
    await upstream.reset();
    await upstream.limit({ maxConcurrent: 10_000, delayMs: 250 });
    await upstream.script([{ kind: "stall_mid_stream", afterEvents: 2 }], { model: "claude-sonnet-4-5-stall" });
    const ccp = await startCcp({ config: config(), env: { ZAI_API_KEY: "zai-key" } });
    try {
      const streams = Array.from({ length: 20 }, (_, i) => post(ccp.url, i % 2 ? "claude-haiku-4-5" : "claude-sonnet-4-5"));
      const stalled = post(ccp.url, "claude-sonnet-4-5-stall");
      const responses = await Promise.all(streams);
      const stalledRes = await stalled;
      expect(responses.every((r) => r.status === 200) && stalledRes.status === 200).toBe(true);

      const t0 = Date.now();
      process.kill(ccp.pid, "SIGTERM");
      // New connections: refused once the listener is closed (at once, not after the grace).
      let refused = false;
      while (!refused && Date.now() - t0 < 3_000) {
        refused = await new Promise<boolean>((resolve) => {
          const s = net.connect(ccp.port, "127.0.0.1");
          s.once("connect", () => {
            s.destroy();
            resolve(false);
          });
          s.once("error", () => resolve(true));
        });
        if (!refused) await Bun.sleep(50);
      }
      expect(refused).toBe(true);

      const texts = await Promise.all(responses.map((r) => r.text()));
      for (const t of texts) expect(t).toContain("event: message_stop");
      expect(Date.now() - t0).toBeLessThan(9_000);
      // The stream that outlasts the grace is cut when ccp exits (the client sees the connection close).
      await stalledRes.text().catch(() => "(cut)");
      while (Date.now() - t0 < 20_000) {
        try {
          process.kill(ccp.pid, 0);
          await Bun.sleep(100);
        } catch {
          break;
        }
      }
      expect(() => process.kill(ccp.pid, 0)).toThrow();
      const lines = rawLines(ccp.usageFile).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.length).toBe(21);
      expectOneLineEach(lines, responses.map((r) => r.headers.get("x-ccp-rid")!).concat(stalledRes.headers.get("x-ccp-rid")!));
      expect(lines.filter((l) => l.failure_class === null && l.stop_reason === "end_turn").length).toBe(20);
      expect(lines.find((l) => l.model === "claude-sonnet-4-5-stall")?.failure_class).not.toBeNull();
      expect(ccp.output()).toContain("SIGTERM: stopping");
      expect(ccp.output()).not.toContain("usage lines are missing");
    } finally {
      await ccp.stop();
    }
  });
});

describe("ccp restart under traffic", () => {
  test("no usage line is lost or doubled across the restart", async () => {
    await upstream.reset();
    await upstream.limit({ maxConcurrent: 10_000, delayMs: 40 });
    const h = cliHome({ ZAI_API_KEY: "zai-key" });
    const port = await freePort();
    const file = join(h.home, "ccp.toml");
    writeFileSync(file, config().replace("port = 0", `port = ${port}`), { mode: 0o600 });
    try {
      expectExit(await runCli(["start", "--port", String(port), "--config", file], { env: h.env }), 0);
      const url = `http://127.0.0.1:${port}`;
      let running = true;
      const seen: string[] = [];
      const worker = async (w: number) => {
        while (running) {
          try {
            const res = await post(url, w % 2 ? "claude-haiku-4-5" : "claude-sonnet-4-5");
            seen.push(res.headers.get("x-ccp-rid")!);
            await res.text();
          } catch {
            // Refused or broken by the restart under way: the point is what the usage log says.
            await Bun.sleep(50);
          }
        }
      };
      const workers = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
      await Bun.sleep(1_000);
      const restart = await runCli(["restart", String(port)], { env: h.env });
      expectExit(restart, 0);
      expect(restart.stdout).toContain(`stopped ccp on port ${port}`);
      await Bun.sleep(1_000);
      running = false;
      await workers;
      expectExit(await runCli(["stop", "--port", String(port)], { env: h.env }), 0);

      const usageFile = join(h.state, "logs", "default", "usage.jsonl");
      const lines = rawLines(usageFile).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(seen.length).toBeGreaterThan(20);
      expectOneLineEach(lines, seen);
      // A line whose client saw no response can only be one the client gave up on.
      const unseen = lines.filter((l) => !seen.includes(l.rid as string));
      for (const l of unseen) expect(l.failure_class).toBe("client_abort");
      expect(new Set(lines.map((l) => l.pid ?? l.port)).size).toBeGreaterThanOrEqual(1);
    } finally {
      killLeftovers(h.state);
    }
  });
});
