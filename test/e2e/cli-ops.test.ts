import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";

import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, ccpCommand, laneConfig, scratchDir, startCcp, type CcpProcess } from "../support/ccp.ts";
import { cliHome, expectExit, freePort, killLeftovers, runCli } from "../support/cli.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";

setDefaultTimeout(120_000);

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

describe("start, stop and stale state", () => {
  test("start on a port another program holds fails clearly, with a hint", async () => {
    const h = cliHome();
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = expectExit(await runCli(["start", "--port", String(holder.port)], { env: h.env }), 1);
      expect(r.stderr).toContain(`port ${holder.port} on 127.0.0.1 is already in use by another program`);
      expect(r.stderr).toContain("hint:");
      expect(r.stdout).toBe("");
      expect(existsSync(join(h.state, "run", `ccp-${holder.port}.json`))).toBe(false);
    } finally {
      holder.stop(true);
      killLeftovers(h.state);
    }
  });

  test("a usage mistake reads like ccp's own errors: one line, a hint naming --help, exit 2", async () => {
    const h = cliHome();
    for (const [args, message, help] of [
      [["start", "--bogus"], "ccp: unknown option '--bogus'", "ccp start --help"],
      [["status", "--port", "abc"], "argument 'abc' is invalid", "ccp status --help"],
      [["no-such-command"], "ccp: unknown command 'no-such-command'", "ccp --help"],
    ] as const) {
      const r = expectExit(await runCli(args, { env: h.env }), 2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain(`hint: ${help}`);
      expect(r.stdout).toBe("");
    }
    expectExit(await runCli(["stop", "--help"], { env: h.env }), 0);
  });

  test("a pid file whose ccp process is alive but does not answer is not called stale", async () => {
    const h = cliHome();
    const port = await freePort();
    // Looks like a ccp server to the process check (its argv), answers nothing: a draining or stuck instance.
    const proc = Bun.spawn(["sh", "-c", "sleep 60", "start", "--foreground", "--port", String(port)], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    try {
      mkdirSync(join(h.state, "run"), { recursive: true });
      writeFileSync(join(h.state, "run", `ccp-${port}.json`), JSON.stringify({ pid: proc.pid, port, host: "127.0.0.1", profile: "default", config: null, started_at: "", options: {} }));
      const r = expectExit(await runCli(["status", "--port", String(port)], { env: h.env }), 3);
      expect(r.stdout).toContain(`does not answer, but its process (pid ${proc.pid}) is alive`);
      expect(r.stdout).not.toContain("stale");
      const json = JSON.parse(expectExit(await runCli(["status", "--port", String(port), "--json"], { env: h.env }), 3).stdout);
      expect(json).toEqual({ running: false, port, stale_pid_file: false, unanswering_pid: proc.pid });
    } finally {
      proc.kill("SIGKILL");
    }
  });

  test("restart from another directory keeps --host and a relative --config; status finds the instance where it listens", async () => {
    const h = cliHome();
    const port = await freePort();
    writeFileSync(join(h.home, "rel.toml"), laneConfig(upstream.url, upstream.caFile).replace("port = 0", `port = ${port}`));
    try {
      expectExit(await runCli(["start", "--host", "127.0.0.2", "--config", "rel.toml"], { env: h.env, cwd: h.home }), 0);
      const status = JSON.parse(expectExit(await runCli(["status", "--json"], { env: h.env, cwd: "/" }), 0).stdout);
      expect(status).toMatchObject({ running: true, host: "127.0.0.2", port, config: join(h.home, "rel.toml") });
      const restart = expectExit(await runCli(["restart", String(port)], { env: h.env, cwd: "/" }), 0);
      expect(restart.stdout).toContain(`at http://127.0.0.2:${port}`);
      const again = JSON.parse(expectExit(await runCli(["status", "--port", String(port), "--json"], { env: h.env, cwd: "/" }), 0).stdout);
      expect(again).toMatchObject({ running: true, host: "127.0.0.2", config: join(h.home, "rel.toml") });
      expect(again.pid).not.toBe(status.pid);
      expectExit(await runCli(["stop", String(port)], { env: h.env, cwd: "/" }), 0);
    } finally {
      killLeftovers(h.state);
    }
  });

  test("stop with nothing running is a clear no-op, exit 0", async () => {
    const h = cliHome();
    const port = await freePort();
    const r = expectExit(await runCli(["stop", "--port", String(port)], { env: h.env }), 0);
    expect(r.stdout).toContain(`no ccp is running on port ${port}; nothing to stop`);
  });

  test("a stale pid file is reported by status and removed by stop; its pid is never signalled", async () => {
    const h = cliHome();
    const port = await freePort();
    const file = join(h.state, "run", `ccp-${port}.json`);
    mkdirSync(join(h.state, "run"), { recursive: true });
    // pid 1 is alive but is no ccp: it must not be touched.
    writeFileSync(file, JSON.stringify({ pid: 1, port, host: "127.0.0.1", profile: "default", config: null, started_at: "", options: {} }));
    const status = expectExit(await runCli(["status", "--port", String(port)], { env: h.env }), 3);
    expect(status.stdout).toContain("stale pid file");
    // The way status itself puts it: `ccp stop <port>`.
    expect(status.stdout).toContain(`ccp stop ${port} removes it`);
    const stop = expectExit(await runCli(["stop", String(port)], { env: h.env }), 0);
    expect(stop.stdout).toContain("removed a stale pid file");
    expect(existsSync(file)).toBe(false);
  });
});

describe("probe verdicts", () => {
  let ccp: CcpProcess;
  const env = cliHome({ ZAI_API_KEY: "zai-key" }).env;
  beforeAll(async () => {
    ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "zai-key" } });
  });
  afterAll(async () => {
    await ccp?.stop();
  });
  const probe = (args: string[]) => runCli(["probe", "--port", String(ccp.port), ...args], { env: { ...env, CCP_HOME: join(ccp.home, "state") } });

  test("fails (exit 1) when the upstream answers 502, and says so", async () => {
    await upstream.reset();
    // Enough 502s to outlast any retries ccp makes: run 1 sees them, whatever the retry policy.
    await upstream.script(Array(12).fill({ kind: "status", status: 502 }), { pathPrefix: "/zai" });
    const r = expectExit(await probe(["--via", "http", "--runs", "1"]), 1);
    expect(r.stdout).toMatch(/^FAIL/m);
    expect(r.stdout).toMatch(/run 1: (status 502|\d+ upstream 502 recorded)/);
  });

  test("fails when Claude Code papered over a 502 with a retry", async () => {
    await upstream.reset();
    await upstream.script([{ kind: "status", status: 502 }], { pathPrefix: "/zai" });
    const r = expectExit(await probe(["--via", "claude", "--runs", "1", "--json"]), 1);
    const p = JSON.parse(r.stdout);
    expect(p.runs[0].status).toBe(200);
    expect(p.verdict.reasons).toEqual([expect.stringMatching(/^run 1: \d+ upstream 502 recorded before it succeeded$/)]);
  });

  test("fails when p50 ttft exceeds the limit", async () => {
    await upstream.reset();
    await upstream.script(Array(3).fill({ kind: "normal", firstEventDelayMs: 1_200 }), { pathPrefix: "/zai" });
    const r = expectExit(await probe(["--via", "http", "--runs", "3", "--max-p50-ttft-ms", "400"]), 1);
    expect(r.stdout).toMatch(/p50 ttft \d+ ms is not under the limit of 400 ms/);
  });

  test("fails on the wrong lane or protocol", async () => {
    await upstream.reset();
    const r = expectExit(await probe(["--via", "http", "--runs", "1", "--expect-lane", "anthropic", "--expect-protocol", "h2", "--json"]), 1);
    const p = JSON.parse(r.stdout);
    expect(p.verdict.reasons).toEqual(["expected lane anthropic, got zai on run 1", "expected protocol h2, got h1 on run 1"]);
    // Each run says `protocol`, and keeps the legacy `h2` flag for the scripts that read it.
    expect([p.runs[0].protocol, p.runs[0].h2]).toEqual(["h1", false]);
    // --expect-h2, the older spelling, judges the same; the table's protocol column says it too.
    const old = expectExit(await probe(["--via", "http", "--runs", "1", "--expect-h2", "true"]), 1);
    expect(old.stdout).toContain("expected protocol h2, got h1 on run 1");
    expect(old.stdout).toMatch(/^1\s+claude-haiku-4-5-20251001\s+200\s+zai\s+h1\s/m);
  });

  test("no proxy: a clear error and a hint", async () => {
    const r = expectExit(await runCli(["probe", "--port", String(await freePort())], { env }), 1);
    expect(r.stderr).toContain("no ccp is running");
    expect(r.stderr).toContain("hint: start it first");
  });
});

describe("ok and usage --follow against a foreground instance", () => {
  test("ok fails, one FAIL line per broken check: a missing lane key, an unreachable lane", async () => {
    const dead = `https://127.0.0.1:${await freePort()}`;
    const config = laneConfig(upstream.url, upstream.caFile).replace(`${upstream.url}/anthropic`, dead);
    const ccp = await startCcp({ config }); // no ZAI_API_KEY
    try {
      const r = expectExit(await runCli(["ok", "--port", String(ccp.port)], { env: { ...cliHome().env, CCP_HOME: join(ccp.home, "state") } }), 1);
      const fails = r.stdout.split("\n").filter((l) => l.startsWith("FAIL"));
      expect(fails.map((l) => l.split(/\s{2,}/)[1])).toEqual(["lane anthropic: connect", "lane zai: credentials"]);
      expect(r.stdout).toContain("ZAI_API_KEY is not set where the proxy runs");
      expect(r.stdout).toMatch(/^ok\s+lane zai: request/m);
      expect(r.stdout).toContain("2 check(s) failed");
    } finally {
      await ccp.stop();
    }
  });

  test("ok and traffic agree on a lane's CA: a ca_file that did not sign the upstream's certificate fails both the same way, over h2 and h1", async () => {
    await upstream.reset();
    const dir = scratchDir("ccp-wrong-ca-");
    const wrongCa = join(dir, "ca.pem");
    const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", wrongCa, "-days", "2", "-subj", "/CN=not the upstream's CA"], {
      stderr: "pipe",
    });
    expect(made.exitCode).toBe(0);
    const ccp = await startCcp({ config: laneConfig(upstream.url, wrongCa), env: { ZAI_API_KEY: "k" } });
    try {
      const ok = JSON.parse(expectExit(await runCli(["ok", "--json", "--port", String(ccp.port)], { env: { ...cliHome().env, CCP_HOME: join(ccp.home, "state") } }), 1).stdout) as {
        checks: { name: string; pass: boolean; detail: string }[];
      };
      for (const [lane, model] of [
        ["anthropic", "claude-sonnet-4-5"], // h2
        ["zai", "claude-haiku-4-5-20251001"], // h1
      ] as const) {
        const res = await fetch(`${ccp.url}/v1/messages`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, max_tokens: 8, messages: [{ role: "user", content: "ok" }] }),
        });
        expect(res.status).toBe(502);
        // ccp: lane "zai" (h1): tls: TLS handshake failed: <the verifier's code> (after N attempts)
        const message = ((await res.json()) as { error: { message: string } }).error.message;
        const traffic = /^ccp: lane "\w+" \(h[12]\): (tls: .+?)(?: \(after \d+ attempts\))?$/.exec(message)?.[1];
        expect(traffic).toStartWith("tls: TLS handshake failed: ");
        expect(ok.checks.find((c) => c.name === `lane ${lane}: connect`)).toEqual({ name: `lane ${lane}: connect`, pass: false, detail: traffic! });
      }
      expect(await upstream.requests()).toEqual([]);
    } finally {
      await ccp.stop();
    }
  });

  test("usage --follow --json prints each new request as it is written", async () => {
    const ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "k" } });
    const follow = Bun.spawn([...ccpCommand(), "usage", "--follow", "--json", "--port", String(ccp.port)], {
      env: { ...cliHome().env, CCP_HOME: join(ccp.home, "state") },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      await Bun.sleep(1_000); // let it reach the end of the (empty) log
      const res = await fetch(`${ccp.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-haiku-4-5-20251001", max_tokens: 8, messages: [{ role: "user", content: "ok" }] }),
      });
      await res.text();
      const reader = follow.stdout.getReader();
      const { value } = await reader.read();
      expect(JSON.parse(new TextDecoder().decode(value).split("\n")[0]!)).toMatchObject({ rid: res.headers.get("x-ccp-rid"), lane: "zai", status: 200 });
    } finally {
      follow.kill("SIGKILL");
      await ccp.stop();
    }
  });
});

describe("usage --stats", () => {
  test("a damaged usage database is a clear error with a way out, not a stack trace", async () => {
    const h = cliHome();
    mkdirSync(h.state, { recursive: true });
    writeFileSync(join(h.state, "ccp.db"), "this is not a database, just some bytes\n".repeat(100));
    const r = expectExit(await runCli(["usage", "--stats"], { env: h.env }), 1);
    expect(r.stderr).toContain(`cannot read the usage database ${join(h.state, "ccp.db")}: file is not a database`);
    expect(r.stderr).toContain("hint:");
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expectExit(await runCli(["usage", "--stats"], { env: { ...h.env, CCP_PERSIST: "0" } }), 0);
  });
});

describe("env", () => {
  test('eval "$(ccp env N)" sets the base URL and unsets the HTTP(S) proxies in bash', async () => {
    const port = await freePort(); // nothing answers there
    const h = cliHome({ HTTPS_PROXY: "http://proxy.invalid:3128", HTTP_PROXY: "http://proxy.invalid:3128" });
    const ccp = (await import("../support/ccp.ts"))
      .ccpCommand()
      .map((a) => `'${a}'`)
      .join(" ");
    const script = `eval "$(${ccp} env ${port} 2>/dev/null)"; echo "$ANTHROPIC_BASE_URL|\${HTTPS_PROXY-unset}|\${HTTP_PROXY-unset}"`;
    const r = Bun.spawnSync(["bash", "-c", script], { env: h.env });
    expect(r.stdout.toString().trim()).toBe(`http://127.0.0.1:${port}|unset|unset`);
    const fish = expectExit(await runCli(["env", "--port", String(port), "--shell", "fish"], { env: h.env }), 0);
    expect(fish.stdout).toContain(`set -gx ANTHROPIC_BASE_URL 'http://127.0.0.1:${port}';`);
    expect(fish.stderr).toContain(`warning: no ccp is answering on port ${port}`);
  });
});

describe("config init, check, show", () => {
  test("init writes a valid commented config; check passes; show masks the lane key", async () => {
    const h = cliHome({ ZAI_API_KEY: "zai-secret-value-123" });
    const file = join(h.home, "c.toml");
    expectExit(await runCli(["config", "init", "--config", file], { env: h.env }), 0);
    expectExit(await runCli(["config", "init", "--config", file], { env: h.env }), 1);
    const check = expectExit(await runCli(["config", "check", "--config", file], { env: h.env }), 0);
    expect(check.stdout).toContain("valid");
    const show = expectExit(await runCli(["config", "show", "--config", file, "--profile", "dev"], { env: { ...h.env, MITM_FORCE_H1: "1" } }), 0);
    expect(show.stdout).not.toContain("zai-secret-value-123");
    expect(show.stdout).toContain("# lane zai: key from ZAI_API_KEY, set");
    const parsed = Bun.TOML.parse(show.stdout) as { persist: boolean; lanes: Record<string, { transport: string }> };
    expect(parsed.persist).toBe(false);
    // What show prints is a config file: saved, it checks as valid.
    const saved = join(h.home, "shown.toml");
    writeFileSync(saved, show.stdout);
    expect(expectExit(await runCli(["config", "check", "--config", saved], { env: h.env }), 0).stdout).toContain("valid");
    const json = JSON.parse(expectExit(await runCli(["config", "show", "--config", file, "--json"], { env: h.env }), 0).stdout);
    expect(json.config.lanes.zai.key).toBe("********");
  });

  test("check names the key and the reason, exit non-zero", async () => {
    const h = cliHome();
    const file = join(h.home, "bad.toml");
    writeFileSync(file, laneConfig("https://127.0.0.1:1", "/nonexistent", { zai: "h3" }));
    const r = expectExit(await runCli(["config", "check", "--config", file], { env: h.env }), 2);
    expect(r.stderr).toContain("lanes.zai.transport");
    expect(r.stderr).toContain("hint:");
  });

  test("check reads a lane's ca_file; --json answers in JSON when the file is invalid too", async () => {
    const h = cliHome();
    const file = join(h.home, "ca.toml");
    writeFileSync(file, laneConfig("https://127.0.0.1:1", "missing-ca.pem"));
    const r = expectExit(await runCli(["config", "check", "--config", file], { env: h.env }), 2);
    expect(r.stderr).toContain(`ca_file: cannot read ${join(h.home, "missing-ca.pem")}: no such file`);
    const json = expectExit(await runCli(["config", "check", "--config", file, "--json"], { env: h.env }), 2);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, error: expect.stringContaining("ca_file") });
  });

  test("check warns when start would refuse in this environment (proxy_key_env not set)", async () => {
    const h = cliHome();
    const file = join(h.home, "key.toml");
    writeFileSync(file, `proxy_key_env = "CCP_TEST_UNSET_KEY"\n${laneConfig("https://127.0.0.1:1", upstream.caFile)}`);
    const r = expectExit(await runCli(["config", "check", "--config", file], { env: h.env }), 0);
    expect(r.stdout).toContain("valid");
    expect(r.stderr).toContain("ccp start would refuse here");
    expect(r.stderr).toContain("CCP_TEST_UNSET_KEY");
    const json = JSON.parse(expectExit(await runCli(["config", "check", "--config", file, "--json"], { env: h.env }), 0).stdout);
    expect(json.valid).toBe(true);
    expect(json.warnings.join("\n")).toContain("CCP_TEST_UNSET_KEY");
  });
});

describe("help", () => {
  test("--version, and --help on every subcommand with an example", async () => {
    const h = cliHome();
    const version = expectExit(await runCli(["--version"], { env: h.env }), 0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    for (const cmd of ["start", "stop", "restart", "status", "quota", "statusline", "ok", "env", "wrap", "probe", "usage", "config", "config init", "config check", "config show", "completion"]) {
      const r = expectExit(await runCli([...cmd.split(" "), "--help"], { env: h.env }), 0);
      expect(r.stdout).toContain(`Usage: ccp ${cmd}`);
      expect(r.stdout).toContain("Examples:");
    }
  });

  test("a usage mistake goes to stderr with exit 2", async () => {
    const h = cliHome();
    const r = expectExit(await runCli(["probe", "--runs", "zero"], { env: h.env }), 2);
    expect(r.stderr).toContain("--runs");
  });

  test("bin/ccp reached through a chain of symlinks (npm link, ~/bin) finds its checkout", async () => {
    const h = cliHome();
    const dir = join(h.home, "links");
    mkdirSync(join(dir, "sub"), { recursive: true });
    symlinkSync(join(ROOT, "bin", "ccp"), join(dir, "ccp-abs"));
    symlinkSync("../ccp-abs", join(dir, "sub", "ccp-rel"));
    symlinkSync("sub/ccp-rel", join(dir, "ccp"));
    const r = expectExit(await runCli(["--version"], { env: h.env, cmd: [join(dir, "ccp")] }), 0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
