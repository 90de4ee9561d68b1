import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { laneConfig, startCcp } from "../support/ccp.ts";
import { cliHome, expectExit, runCli } from "../support/cli.ts";
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
    expect(r.stderr).toBe("warning: lane zai: ZAI_API_KEY is not set in this environment; its requests will fail until it is\n");
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
      const res = await fetch(`${ccp.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "claude-haiku-4-5-20251001", max_tokens: 8, messages: [{ role: "user", content: "ok" }] }) });
      await res.text();
      expect(await ccp.usage(1)).toHaveLength(1);
      const env = cliHome().env;
      const tail = expectExit(await runCli(["usage", "--port", String(ccp.port), "--json"], { env }), 0);
      expect(tail.stdout.trim().split("\n").map((l) => JSON.parse(l).rid)).toEqual([res.headers.get("x-ccp-rid")]);
      const stats = JSON.parse(expectExit(await runCli(["usage", "--stats", "--port", String(ccp.port), "--json"], { env }), 0).stdout);
      expect(stats).toMatchObject({ source: "jsonl", paths: [ccp.usageFile], groups: [{ key: "all", requests: 1 }] });
    } finally {
      await ccp.stop();
    }
  });
});
