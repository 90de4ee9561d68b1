import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { laneConfig, startCcp, type CcpProcess } from "./ccp.ts";
import { cliHome, expectExit, freePort, killLeftovers, runCli } from "./cli.ts";
import { startFakeUpstream, type FakeUpstream } from "./fake-upstream/index.ts";

/** `ccp wrap`: argv, stdio, exit codes and signals pass through untouched (source or binary). */
export function describeWrap(label: string, cmd: () => readonly string[]): void {
  // Real processes on a busy 2-core machine: generous, as `npm test` is (bun test alone defaults to 5 s).
  setDefaultTimeout(120_000);
  describe(`wrap (${label})`, () => {
    let upstream: FakeUpstream;
    let ccp: CcpProcess;
    let env: Record<string, string>;
    const wrap = (args: string[], o: { stdin?: string; extraEnv?: Record<string, string> } = {}) =>
      runCli(["wrap", "--port", String(ccp.port), ...args], { cmd: cmd(), env: { ...env, ...o.extraEnv }, stdin: o.stdin });

    beforeAll(async () => {
      upstream = await startFakeUpstream();
      ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile) });
      env = { ...cliHome().env, CCP_HOME: join(ccp.home, "state") };
    });
    afterAll(async () => {
      await ccp?.stop();
      await upstream?.close();
    });

    test("arguments with spaces, quotes and shell characters arrive unchanged; the exit code comes back", async () => {
      const args = ["a b", `it's "quoted"`, "$HOME", "*", "", "--port", "-p", "x\ny"];
      const r = expectExit(await wrap(["sh", "-c", 'for a in "$@"; do printf "[%s]\\n" "$a"; done; exit 7', "sh", ...args]), 7);
      expect(r.stdout).toBe(args.map((a) => `[${a}]\n`).join(""));
      expectExit(await wrap(["sh", "-c", "exit 0"]), 0);
      expectExit(await wrap(["false"]), 1);
    });

    test("the child gets the base URL, no HTTP(S) proxy, stdin and stderr", async () => {
      const r = expectExit(
        await wrap(["sh", "-c", 'read line; echo "$line|$ANTHROPIC_BASE_URL|${HTTPS_PROXY-unset}|${HTTP_PROXY-unset}"; echo oops >&2'], {
          stdin: "hello\n",
          extraEnv: { HTTPS_PROXY: "http://proxy.invalid:1", HTTP_PROXY: "http://proxy.invalid:1" },
        }),
        0,
      );
      expect(r.stdout).toBe(`hello|http://127.0.0.1:${ccp.port}|unset|unset\n`);
      expect(r.stderr).toBe("oops\n");
    });

    test("SIGTERM to wrap reaches the child; its exit code comes back; the proxy keeps running", async () => {
      const proc = Bun.spawn([...cmd(), "wrap", "--port", String(ccp.port), "sh", "-c", 'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done'], {
        env,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      const reader = proc.stdout.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toBe("ready\n");
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
      expect(await proc.exited).toBe(42);
      clearTimeout(timer);
      expect((await fetch(`${ccp.url}/healthz`)).status).toBe(200);
    });

    test("an unknown command is exit 127 with a hint; no proxy and no --start is a clear error", async () => {
      const missing = expectExit(await wrap(["ccp-no-such-command-xyz"]), 127);
      expect(missing.stderr).toContain("command not found: ccp-no-such-command-xyz");
      const port = await freePort();
      const r = expectExit(await runCli(["wrap", "--port", String(port), "true"], { cmd: cmd(), env }), 1);
      expect(r.stderr).toContain(`no ccp is running on port ${port}`);
      expect(r.stderr).toContain("--start");
    });

    test("a path that cannot run: 127 when missing, 126 when not executable, as a shell says; --start starts nothing for it", async () => {
      const h = cliHome();
      const port = await freePort();
      const plain = join(h.home, "not-a-program.txt");
      writeFileSync(plain, "hello\n");
      const run = (command: string) => runCli(["wrap", "--port", String(port), "--start", command], { cmd: cmd(), env: h.env });
      try {
        const missing = expectExit(await run("./ccp-no-such-file-xyz"), 127);
        expect(missing.stderr).toContain("command not found: ./ccp-no-such-file-xyz");
        expect(missing.stderr).not.toMatch(/^\s+at /m); // no stack trace
        for (const bad of [plain, h.home]) {
          const r = expectExit(await run(bad), 126);
          expect(r.stderr).toContain(`cannot run ${bad}`);
          expect(r.stderr).toContain("hint:");
          expect(r.stderr).not.toMatch(/^\s+at |posix_spawn/m);
        }
        expect(await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => "refused")).toBe("refused");
      } finally {
        await runCli(["stop", "--port", String(port)], { cmd: cmd(), env: h.env });
        killLeftovers(h.state);
      }
    });

    test("--start starts the proxy first and leaves it running for others", async () => {
      const h = cliHome();
      const port = await freePort();
      try {
        const r = expectExit(await runCli(["wrap", "--port", String(port), "--start", "sh", "-c", 'echo "$ANTHROPIC_BASE_URL"'], { cmd: cmd(), env: h.env }), 0);
        expect(r.stdout).toBe(`http://127.0.0.1:${port}\n`);
        // A warning (the command goes on), not an error: its own prefix.
        expect(r.stderr).toBe(`warning: started ccp on port ${port}; it keeps running after this command (ccp stop ${port} stops it)\n`);
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
        expectExit(await runCli(["stop", "--port", String(port)], { cmd: cmd(), env: h.env }), 0);
      } finally {
        killLeftovers(h.state);
      }
    });

    test("wrap_start = true in the config starts the proxy without --start", async () => {
      const h = cliHome();
      const port = await freePort();
      const config = join(h.home, "wrap.toml");
      writeFileSync(config, `wrap_start = true\n[lanes.anthropic]\nbase_url = "https://127.0.0.1:9"\n[[routes]]\nmatch = "*"\nlane = "anthropic"\n`);
      try {
        const r = expectExit(await runCli(["wrap", "--port", String(port), "true"], { cmd: cmd(), env: { ...h.env, CCP_CONFIG: config } }), 0);
        expect(r.stderr).toContain("it keeps running");
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
        expectExit(await runCli(["stop", "--port", String(port)], { cmd: cmd(), env: h.env }), 0);
      } finally {
        killLeftovers(h.state);
      }
    });
  });
}
