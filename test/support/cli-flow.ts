import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HEAP_HINT_BYTES } from "../../src/ops/heap-hint.ts";
import { laneConfig } from "./ccp.ts";
import { cliHome, expectExit, freePort, killLeftovers, runCli, type CliHome } from "./cli.ts";
import { startFakeUpstream, type FakeUpstream } from "./fake-upstream/index.ts";

const ZAI_KEY = "zai-lane-key-for-cli-tests";

interface ProbeJson {
  runs: { role: string; status: number; lane: string; h2: boolean; ttft_ms: number }[];
  verdict: { pass: boolean; reasons: string[] };
}

/**
 * The operator's day, as the issue tells it, through one CLI (the source or the compiled
 * binary): start → status → ok → probe (claude, http) → usage → restart with MITM_FORCE_H1=1
 * → probe sees h1 on zai, h2 on anthropic → stop.
 */
export function describeOperatorFlow(label: string, cmd: () => readonly string[]): void {
  // Real processes on a busy 2-core machine: generous, as `npm test` is (bun test alone defaults to 5 s).
  setDefaultTimeout(120_000);
  describe(`operator flow (${label})`, () => {
    let upstream: FakeUpstream;
    let h: CliHome;
    let port: number;
    let configFile: string;
    const ccp = (args: string[], env: Record<string, string> = {}) => runCli(args, { cmd: cmd(), env: { ...h.env, ...env } });

    beforeAll(async () => {
      upstream = await startFakeUpstream();
      h = cliHome({ ZAI_API_KEY: ZAI_KEY });
      configFile = join(h.home, "ccp.toml");
      // zai starts on HTTP/2 so that MITM_FORCE_H1 has something to change.
      writeFileSync(configFile, laneConfig(upstream.url, upstream.caFile, { zai: "h2" }));
      port = await freePort();
    });
    afterAll(async () => {
      if (h) {
        await runCli(["stop", "--port", String(port)], { cmd: cmd(), env: h.env, timeoutMs: 30_000 }).catch(() => undefined);
        killLeftovers(h.state);
      }
      await upstream?.close();
    });

    test("start detaches, waits for health and says how to use it; a second start on the port is refused", async () => {
      const r = await ccp(["start", "--port", String(port), "--config", configFile]);
      expectExit(r, 0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain(`ccp is running at http://127.0.0.1:${port}`);
      expect(r.stdout).toContain(`ccp env ${port}`);
      expect(r.stdout).toContain(`dashboard: http://127.0.0.1:${port}/dashboard\n`);
      expect(existsSync(join(h.state, `ccp-${port}.out`))).toBe(true);
      expect(existsSync(join(h.state, "run", `ccp-${port}.json`))).toBe(true);
      // The server it launched starts with the heap hint (JSC reads it only at process start).
      const log = () => readFileSync(join(h.state, `ccp-${port}.out`), "utf8");
      for (let i = 0; i < 50 && !log().includes("ccp listening on"); i++) await Bun.sleep(100);
      expect(log()).toContain(`heap_hint=${HEAP_HINT_BYTES / 1048576}MB`);

      const again = await ccp(["start", "--port", String(port), "--config", configFile]);
      expectExit(again, 1);
      expect(again.stderr).toContain(`a ccp is already running on port ${port}`);
      expect(again.stderr).toContain("hint:");
    });

    test("status shows pid, port, profile, lanes with transport and base URL, counts; never a key", async () => {
      const r = await ccp(["status", "--json"]);
      expectExit(r, 0);
      const s = JSON.parse(r.stdout);
      expect(s).toMatchObject({ running: true, port, profile: "default", config: configFile, persist: true, fallback: "off", requests: 0, errors: 0 });
      expect(typeof s.pid).toBe("number");
      expect(typeof s.uptime_s).toBe("number");
      const lanes = Object.fromEntries(s.lanes.map((l: { name: string }) => [l.name, l]));
      expect(lanes.zai).toMatchObject({ transport: "h2", base_url: `${upstream.url}/zai/api/anthropic`, credentials: "present" });
      expect(lanes.anthropic).toMatchObject({ transport: "h2", base_url: `${upstream.url}/anthropic`, credentials: "client" });

      expect(s.dashboard).toBe(`http://127.0.0.1:${port}/dashboard`);

      const text = await ccp(["status"]);
      expectExit(text, 0);
      expect(text.stdout).toContain(`pid ${s.pid}`);
      expect(text.stdout).toContain(`dashboard  http://127.0.0.1:${port}/dashboard\n`);
      expect(text.stdout).toMatch(/zai\s+h2\s+https:\/\/127\.0\.0\.1:\d+\/zai\/api\/anthropic/);
      for (const out of [r.stdout, text.stdout]) expect(out).not.toContain(ZAI_KEY);
    });

    test("config init while it runs says to restart it with the new file, not to start one", async () => {
      const fresh = join(h.home, "fresh.toml");
      const r = expectExit(await ccp(["config", "init", "--config", fresh]), 0);
      expect(r.stdout).toContain(`ccp config check --config ${fresh} && ccp restart ${port} --config ${fresh}   (a ccp is already running on port ${port}`);
      expect(r.stdout).not.toContain("ccp start");
    });

    test("ok passes with one line per check: proxy, config, each lane's credentials, TLS connect and request", async () => {
      const r = await ccp(["ok"]);
      expectExit(r, 0);
      const lines = r.stdout.trim().split("\n");
      for (const check of ["proxy", "config", "lane zai: credentials", "lane zai: connect", "lane zai: request", "lane anthropic: connect", "lane anthropic: request"]) {
        expect(lines.some((l) => l.startsWith("ok") && l.includes(check))).toBe(true);
      }
      expect(r.stdout).toContain("ALPN h2");
      expect(r.stdout).not.toContain(ZAI_KEY);
    });

    test("probe --runs 5 via the real claude passes on the zai lane over h2", async () => {
      const r = await ccp(["probe", "--runs", "5", "--via", "claude", "--expect-lane", "zai", "--expect-h2", "true", "--max-p50-ttft-ms", "20000"]);
      expectExit(r, 0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^PASS/m);
      expect(r.stdout.match(/^\d+\s+claude-haiku-4-5-20251001\s+200\s+zai\s+h2/gm)?.length).toBe(5);
    });

    test("probe --runs 5 via http, with --also sonnet alongside, matches every run to its usage line", async () => {
      const r = await ccp(["probe", "--runs", "5", "--via", "http", "--also", "sonnet", "--expect-lane", "zai", "--expect-h2", "true", "--max-p50-ttft-ms", "20000", "--json"]);
      expectExit(r, 0);
      const p = JSON.parse(r.stdout) as ProbeJson;
      expect(p.verdict).toEqual({ pass: true, p50_ttft_ms: expect.any(Number), reasons: [] } as never);
      expect(p.runs.filter((x) => x.role === "main").every((x) => x.status === 200 && x.lane === "zai" && x.h2 === true)).toBe(true);
      expect(p.runs.filter((x) => x.role === "also").every((x) => x.status === 200 && x.lane === "anthropic" && x.h2 === true)).toBe(true);
      expect(p.runs.length).toBe(10);
    });

    test("usage --tail shows the latest requests as a table, --json the raw records, filters apply", async () => {
      const table = await ccp(["usage", "--tail", "4"]);
      expectExit(table, 0);
      const lines = table.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^time\s+lane\s+model\s+status/);
      expect(lines.length).toBe(5);
      const json = await ccp(["usage", "--tail", "200", "--json"]);
      const records = json.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(records.length).toBe(15);
      const anthropic = await ccp(["usage", "--lane", "anthropic", "--json", "--since", "1h"]);
      expect(
        anthropic.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).lane),
      ).toEqual(Array(5).fill("anthropic"));
      const errors = await ccp(["usage", "--errors", "--json"]);
      expect(errors.stdout).toBe("");
      const status = await ccp(["status", "--json"]);
      expect(JSON.parse(status.stdout)).toMatchObject({ requests: 15, errors: 0 });
    });

    test("restart with MITM_FORCE_H1=1 keeps the previous --config, and the probe sees h1 on zai while anthropic keeps h2", async () => {
      const before = JSON.parse((await ccp(["status", "--json"])).stdout).pid;
      // No --config here and none in the environment: restart must reuse the one start was given.
      const r = await ccp(["restart", String(port)], { MITM_FORCE_H1: "1" });
      expectExit(r, 0);
      expect(r.stdout).toContain(`ccp is running at http://127.0.0.1:${port}`);
      const s = JSON.parse((await ccp(["status", "--json"])).stdout);
      expect(s.pid).not.toBe(before);
      expect(s.config).toBe(configFile);
      expect(s.lanes.find((l: { name: string }) => l.name === "zai").transport).toBe("h1");

      const p = await ccp(["probe", "--runs", "3", "--via", "http", "--also", "sonnet", "--expect-lane", "zai", "--expect-h2", "false", "--max-p50-ttft-ms", "20000", "--json"]);
      expectExit(p, 0);
      const probe = JSON.parse(p.stdout) as ProbeJson;
      expect(probe.runs.filter((x) => x.role === "main").map((x) => x.h2)).toEqual([false, false, false]);
      expect(probe.runs.filter((x) => x.role === "also").map((x) => [x.lane, x.h2])).toEqual(Array(3).fill(["anthropic", true]));
      // And the upstream agrees about the wire.
      const wire = (await upstream.requests()).filter((q) => q.path.includes("/v1/messages")).slice(-6);
      expect(wire.filter((q) => q.path.startsWith("/zai/")).map((q) => q.protocol)).toEqual(Array(3).fill("http/1.1"));
      expect(wire.filter((q) => q.path.startsWith("/anthropic/")).map((q) => q.protocol)).toEqual(Array(3).fill("h2"));
    });

    test("stop stops it and removes the pid file; stopping again is a clear no-op", async () => {
      const r = await ccp(["stop", "--port", String(port)]);
      expectExit(r, 0);
      expect(r.stdout).toContain(`stopped ccp on port ${port}`);
      expect(existsSync(join(h.state, "run", `ccp-${port}.json`))).toBe(false);
      const status = await ccp(["status", "--port", String(port)]);
      expectExit(status, 3);
      expect(status.stdout).toContain("not running");
      const again = await ccp(["stop", "--port", String(port)]);
      expectExit(again, 0);
      expect(again.stdout).toContain("nothing to stop");
    });
  });
}
