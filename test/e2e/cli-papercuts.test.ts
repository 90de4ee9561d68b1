import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ccpCommand, laneConfig, startCcp } from "../support/ccp.ts";
import { cliHome, expectExit, freePort, runCli } from "../support/cli.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";

// What a new user meets first (issue 20), through the real CLI.
setDefaultTimeout(120_000);

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

describe("warnings are not errors", () => {
  test("config check warns with warning:, never ccp:, and exits 0", async () => {
    const h = cliHome(); // no ZAI_API_KEY
    const file = join(h.home, "c.toml");
    writeFileSync(file, laneConfig(upstream.url, upstream.caFile));
    const r = expectExit(await runCli(["config", "check", "--config", file], { env: h.env }), 0);
    expect(r.stderr).toBe('warning: lane "zai" needs its key in $ZAI_API_KEY, which is not set: requests for claude-haiku-* will be refused until you export ZAI_API_KEY and restart ccp\n');
  });

  test("start's config-file warning says warning: (once), apart from the error that follows", async () => {
    const h = cliHome({ ZAI_API_KEY: "zai-key-for-papercuts" });
    const file = join(h.home, "c.toml");
    writeFileSync(file, laneConfig(upstream.url, upstream.caFile));
    chmodSync(file, 0o666);
    // The port is taken, so the start is refused after its warnings: one warning line, then the error.
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = expectExit(await runCli(["start", "--port", String(holder.port), "--config", file], { env: h.env }), 1);
      const lines = r.stderr.trim().split("\n");
      expect(lines[0]).toStartWith(`warning: ${file} is writable by group or others`);
      expect(lines[1]).toStartWith(`ccp: port ${holder.port} on 127.0.0.1 is already in use`);
    } finally {
      holder.stop(true);
    }
  });
});

describe("port 0", () => {
  test("a detached start refuses it and says how it works; other commands never offer it", async () => {
    const h = cliHome();
    const start = expectExit(await runCli(["start", "--port", "0"], { env: h.env }), 2);
    expect(start.stderr).toBe("ccp: --port 0 (a free port) works only with --foreground\nhint: give a port (ccp start --port 8082), or run it in this terminal: ccp start --foreground --port 0\n");
    const file = join(h.home, "zero.toml");
    writeFileSync(file, laneConfig(upstream.url, upstream.caFile)); // port = 0
    const fromFile = expectExit(await runCli(["start", "--config", file], { env: h.env }), 2);
    expect(fromFile.stderr).toStartWith(`ccp: port = 0 in ${file} (a free port) works only with --foreground\n`);
    const status = expectExit(await runCli(["status", "--port", "0"], { env: h.env }), 2);
    expect(status.stderr).toContain("expected a port number between 1 and 65535");
    expect(status.stderr).not.toContain("free");
  });
});

describe("usage and usage --stats read the same instance", () => {
  test("--port names an instance with its own profile and state directory: both read its usage", async () => {
    const config = laneConfig(upstream.url, upstream.caFile, { extra: '[profiles.dev]\nfallback = "off"\n' });
    // usage.jsonl only, in profile dev, under a state directory that is not this shell's.
    const ccp = await startCcp({ config, profile: "dev", env: { ZAI_API_KEY: "zai-key", CCP_PERSIST: "0" } });
    try {
      expect(ccp.output()).toContain(`dashboard=${ccp.url}/dashboard`);
      const res = await fetch(`${ccp.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-haiku-4-5-20251001", max_tokens: 8, messages: [{ role: "user", content: "ok" }] }),
      });
      await res.text();
      expect(await ccp.usage(1)).toHaveLength(1);
      const env = cliHome().env;
      const tail = expectExit(await runCli(["usage", "--port", String(ccp.port), "--json"], { env }), 0);
      expect(
        tail.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).rid),
      ).toEqual([res.headers.get("x-ccp-rid")]);
      const stats = JSON.parse(expectExit(await runCli(["usage", "--stats", "--port", String(ccp.port), "--json"], { env }), 0).stdout);
      expect(stats).toMatchObject({ source: "jsonl", paths: [ccp.usageFile], groups: [{ key: "all", requests: 1 }] });
    } finally {
      await ccp.stop();
    }
  });
});

describe("usage --follow", () => {
  test("the tail and the lines that follow it line up with the one header", async () => {
    const h = cliHome();
    const log = join(h.state, "logs", "default", "usage.jsonl");
    mkdirSync(join(h.state, "logs", "default"), { recursive: true, mode: 0o700 });
    const line = (o: Record<string, unknown>) => `${JSON.stringify({ ts: new Date().toISOString(), rid: `ccp_${Math.random()}`, status: 200, h2: true, latency_ms: 5, ...o })}\n`;
    writeFileSync(log, line({ lane: "anthropic", model: "claude-opus-4-8", ttft_ms: 12, input_tokens: 1, output_tokens: 2 }), { mode: 0o600 });
    // Nothing runs on that port: the config's log, the one written above.
    const follow = Bun.spawn([...ccpCommand(), "usage", "--follow", "--port", String(await freePort())], { env: h.env, stdout: "pipe", stderr: "pipe" });
    try {
      let text = "";
      const reader = follow.stdout.getReader();
      const readLines = async (n: number) => {
        while (text.split("\n").length <= n) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`usage --follow ended after:\n${text}${await new Response(follow.stderr).text()}`);
          text += new TextDecoder().decode(value);
        }
        return text.split("\n").slice(0, n);
      };
      await readLines(2);
      appendFileSync(
        log,
        line({
          lane: "zai",
          model: "claude-haiku-4-5-20251001-long-variant",
          ttft_ms: 123_456,
          latency_ms: 1_234_567,
          input_tokens: 198_765,
          output_tokens: 64_000,
          retries: 2,
        }),
      );
      const [header, first, second] = await readLines(3);
      const starts = [...header!.matchAll(/\S+/g)].map((m) => m.index);
      expect(starts).toHaveLength(10);
      for (const row of [first!, second!]) {
        for (const at of starts.slice(1, -1)) expect([row[at - 1], row[at] === " "]).toEqual([" ", false]);
      }
      expect(second!.slice(starts[7]!, starts[8]).trim()).toBe("198765/64000");
    } finally {
      follow.kill("SIGKILL");
    }
  });
});

describe("config errors say what to write", () => {
  test("config check: a missing [[routes]] says what to add; a misspelled key gets the nearest known one", async () => {
    const h = cliHome();
    const file = join(h.home, "typo.toml");
    writeFileSync(file, `[lanes.main]\nbase_url = "https://api.anthropic.com"\ntrasport = "h2"\n`);
    const r = expectExit(await runCli(["config", "check", "--config", file], { env: h.env }), 2);
    expect(r.stderr).toBe(
      `ccp: ${file}: invalid configuration\n` +
        "  lanes.main.trasport: unknown key (did you mean transport?)\n" +
        '  routes: required: add at least one [[routes]] entry, e.g. match = "*" and lane = "main"\n' +
        "hint: fix the key named above, then run the command again (ccp config check validates a file)\n",
    );
  });
});
