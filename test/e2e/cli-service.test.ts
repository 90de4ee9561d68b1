import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { BUN, ROOT, scratchDir } from "../support/ccp.ts";
import { cliHome, expectExit, freePort, killLeftovers, runCli, type CliHome } from "../support/cli.ts";

/**
 * `ccp service` through the real CLI, with a stand-in for `systemctl --user` on PATH
 * (test/support/fake-systemctl.ts: this machine has no user systemd). The stand-in starts the
 * real ccp from the unit ccp wrote, reading it as systemd does, so the unit's ExecStart,
 * Environment= and EnvironmentFile= are exercised, not only its text.
 */
setDefaultTimeout(120_000);

const ZAI_KEY = "zai-key-for-the-service-test-0123456789";

interface Calls {
  list(): string[];
  clear(): void;
}

describe("ccp service (systemd, a stand-in systemctl)", () => {
  let h: CliHome;
  let fake: string;
  let port: number;
  let configFile: string;
  let unitFile: string;
  let calls: Calls;
  const ccp = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: { ...h.env, ...env } });

  beforeAll(async () => {
    port = await freePort();
    const root = scratchDir("ccp-service-e2e-");
    fake = join(root, "fake-systemd");
    const bin = join(root, "bin");
    mkdirSync(fake);
    mkdirSync(bin);
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh\nexec "${BUN}" "${join(ROOT, "test", "support", "fake-systemctl.ts")}" "$@"\n`);
    chmodSync(join(bin, "systemctl"), 0o755);
    h = cliHome({ ZAI_API_KEY: ZAI_KEY, FAKE_SYSTEMD_DIR: fake, XDG_CONFIG_HOME: "" });
    h.env.PATH = `${bin}:${h.env.PATH}`;
    h.env.XDG_CONFIG_HOME = join(h.home, "xdg config");
    // The state directory lies outside HOME, so that HOME holds only what install writes.
    h.env.CCP_HOME = join(root, "state");
    // A config path with a space and a % in it: the unit must carry it through systemd's quoting.
    const dir = join(h.home, "my configs", "100% ccp");
    mkdirSync(dir, { recursive: true });
    configFile = join(dir, "ccp.toml");
    writeFileSync(
      configFile,
      `[lanes.anthropic]\nbase_url = "https://127.0.0.1:9"\n` +
        `[lanes.zai]\nbase_url = "https://127.0.0.1:9/zai"\nauth = "key"\nkey_env = "ZAI_API_KEY"\ntransport = "h1"\ndialect = "zai"\nquota_url = ""\n` +
        `[[routes]]\nmatch = "claude-haiku-*"\nlane = "zai"\n[[routes]]\nmatch = "*"\nlane = "anthropic"\n`,
    );
    unitFile = join(h.env.XDG_CONFIG_HOME, "systemd", "user", "ccp.service");
    const log = join(fake, "calls.log");
    calls = {
      list: () =>
        existsSync(log)
          ? readFileSync(log, "utf8")
              .trim()
              .split("\n")
              .filter(Boolean)
              .map((l) => (JSON.parse(l) as string[]).join(" "))
          : [],
      clear: () => writeFileSync(log, ""),
    };
  });

  afterAll(() => {
    // Whatever the stand-in, or a restart gone wrong, started and a failed test left running.
    killLeftovers(h.env.CCP_HOME!);
    for (const f of existsSync(fake) ? readdirSync(fake).filter((x) => x.endsWith(".pid")) : []) {
      try {
        process.kill(Number(readFileSync(join(fake, f), "utf8")), "SIGKILL");
      } catch {
        // gone
      }
    }
  });

  const tree = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, withFileTypes: false })
      .map(String)
      .filter((p) => !p.startsWith(".bun") && !p.startsWith(".cache"))
      .map((p) => `${p}${statSync(join(dir, p)).isDirectory() ? "/" : ""}`)
      .sort();
  const pidOf = async () => JSON.parse((await ccp(["status", "--json", "--port", String(port)])).stdout).pid as number;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
    } catch {
      return false;
    }
  };

  let before: string[];
  let envFile: string;

  test("a port another program holds is refused (exit 1, with a hint) before anything is written", async () => {
    before = tree(h.home);
    const holder = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    try {
      const r = expectExit(await ccp(["service", "install", "--port", String(port), "--config", configFile]), 1);
      expect(r.stderr).toContain(`ccp: port ${port} on 127.0.0.1 is in use by another program`);
      expect(r.stderr).toContain(`hint: stop it first (ccp stop ${port}), or give the service another port`);
    } finally {
      holder.stop(true);
    }
    expect(calls.list()).toEqual([]);
    expect(tree(h.home)).toEqual(before);
  });

  test("a manager that refuses leaves nothing behind (the unit is not kept)", async () => {
    const r = await ccp(["service", "install", "--port", String(port), "--config", configFile], { FAKE_SYSTEMCTL_FAIL: "enable" });
    expectExit(r, 1);
    expect(r.stderr).toContain("could not enable ccp.service, so it was not installed: systemctl --user enable --now ccp.service exited 1: Failed to connect to bus");
    expect(r.stderr).toContain("hint: systemctl --user needs your user's systemd");
    expect(tree(h.home)).toEqual(before);
  });

  test("install writes the unit, reloads, enables and starts it; the secret it needs is named, never written", async () => {
    calls.clear();
    const r = expectExit(await ccp(["service", "install", "--port", String(port), "--config", configFile]), 0);
    expect(calls.list()).toEqual(["--user daemon-reload", "--user enable --now ccp.service"]);
    expect(r.stdout).toContain(`installed ccp.service: ${unitFile}`);
    expect(r.stdout).toContain("logs       journalctl --user -u ccp.service -f");
    expect(r.stdout).toContain(`running    http://127.0.0.1:${port} (pid `);
    envFile = join(h.env.XDG_CONFIG_HOME!, "ccp", "service.env");
    expect(r.stderr).toContain(`warning: the service does not get this shell's environment: put ZAI_API_KEY=… in ${envFile} (chmod 600), then ccp restart ${port}`);
    const unit = readFileSync(unitFile, "utf8");
    expect(unit).not.toContain(ZAI_KEY);
    expect(unit).toContain("100%% ccp");
    // The stand-in ran what the unit says: ExecStart's arguments and Environment= as systemd reads them.
    const { exec, env } = JSON.parse(readFileSync(join(fake, "ccp.service.exec.json"), "utf8"));
    expect(exec).toEqual([join(ROOT, "bin", "ccp"), "start", "--foreground", "--port", String(port), "--profile", "default", "--config", configFile]);
    expect(env).toMatchObject({ CCP_SERVICE: "systemd:ccp.service", CCP_HOME: h.env.CCP_HOME, BUN_JSC_forceRAMSize: "268435456" });
    expect(env.ZAI_API_KEY).toBeUndefined();
  });

  test("status (no --port) finds the service's ccp and says it is managed; service status says installed, enabled, running, where it logs", async () => {
    const s = JSON.parse(expectExit(await ccp(["status", "--json"]), 0).stdout);
    expect(s).toMatchObject({ running: true, port, managed_by: { manager: "systemd", name: "ccp.service" }, config: configFile });
    expect(s.lanes.find((l: { name: string }) => l.name === "zai").credentials).toBe("missing");
    expect(expectExit(await ccp(["status"]), 0).stdout).toContain("service    systemd ccp.service (ccp stop and restart go through it)");
    const st = JSON.parse(expectExit(await ccp(["service", "status", "--json"]), 0).stdout);
    expect(st).toMatchObject({
      manager: "systemd",
      name: "ccp.service",
      file: unitFile,
      installed: true,
      enabled: true,
      running: true,
      healthy: true,
      port,
      logs: "journalctl --user -u ccp.service -f",
    });
  });

  test("install again is refused without --force (exit 2, with a hint); with --force it is replaced and restarted, and reads the env file", async () => {
    const again = expectExit(await ccp(["service", "install", "--port", String(port), "--config", configFile]), 2);
    expect(again.stderr).toContain(`ccp: ccp.service is already installed: ${unitFile}`);
    expect(again.stderr).toContain("hint: replace it: ccp service install --force");
    mkdirSync(join(envFile, ".."), { recursive: true });
    writeFileSync(envFile, `ZAI_API_KEY=${ZAI_KEY}\n`, { mode: 0o600 });
    const old = await pidOf();
    calls.clear();
    const r = expectExit(await ccp(["service", "install", "--force", "--port", String(port), "--config", configFile]), 0);
    expect(r.stdout).toContain("replaced ccp.service");
    expect(r.stderr).toBe("");
    expect(calls.list()).toEqual(["--user daemon-reload", "--user enable ccp.service", "--user restart ccp.service"]);
    // install waits until the new ccp answers, as start does.
    expect(r.stdout).toMatch(new RegExp(`running    http://127\\.0\\.0\\.1:${port} \\(pid \\d+\\)`));
    const s = JSON.parse((await ccp(["status", "--json"])).stdout);
    expect(s.pid).not.toBe(old);
    expect(s.lanes.find((l: { name: string }) => l.name === "zai").credentials).toBe("present");
  });

  test("stop goes through systemctl --user stop, and the ccp stays stopped", async () => {
    const pid = await pidOf();
    calls.clear();
    const r = expectExit(await ccp(["stop"]), 0);
    expect(calls.list()).toEqual(["--user stop ccp.service"]);
    expect(r.stdout).toContain(`stopped ccp on port ${port} through systemd (ccp.service); it stays stopped until systemctl --user start ccp.service`);
    expect(alive(pid)).toBe(false);
    await Bun.sleep(1_000);
    expectExit(await ccp(["status", "--port", String(port)]), 3);
  });

  test("restart of a stopped service starts it through systemctl --user restart; restart of a running one too, with a new pid", async () => {
    calls.clear();
    const r = expectExit(await ccp(["restart", String(port)]), 0);
    expect(calls.list()).toEqual(["--user restart ccp.service"]);
    expect(r.stdout).toContain(`restarted ccp on port ${port} through systemd (ccp.service, pid `);
    const first = await pidOf();
    calls.clear();
    expectExit(await ccp(["restart"]), 0);
    expect(calls.list()).toEqual(["--user restart ccp.service"]);
    const second = await pidOf();
    expect(second).not.toBe(first);
    expect(alive(first)).toBe(false);
    const refused = expectExit(await ccp(["restart", "--profile", "dev"]), 2);
    expect(refused.stderr).toContain("is run by ccp.service, whose options are in its unit");
  });

  test("uninstall disables and stops it, removes the unit: HOME holds what it held before install (and the env file the user wrote)", async () => {
    const pid = await pidOf();
    calls.clear();
    const r = expectExit(await ccp(["service", "uninstall"]), 0);
    expect(r.stdout).toContain(`removed ccp.service: ${unitFile}`);
    expect(calls.list()).toEqual(["--user disable --now ccp.service", "--user daemon-reload"]);
    expect(alive(pid)).toBe(false);
    const userWrote = [h.env.XDG_CONFIG_HOME!, join(h.env.XDG_CONFIG_HOME!, "ccp")].map((d) => `${relative(h.home, d)}/`);
    expect(tree(h.home)).toEqual([...before, ...userWrote, relative(h.home, envFile)].sort());
    const st = expectExit(await ccp(["service", "status"]), 3);
    expect(st.stdout).toContain("no ccp service is installed for profile default");
    expect(expectExit(await ccp(["service", "uninstall"]), 0).stdout).toContain("nothing to remove");
  });
});
