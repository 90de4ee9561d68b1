import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { readEnv } from "../../src/config/env.ts";
import { inspect, restartManaged, stopManaged, type ServiceDeps } from "../../src/ops/service-control.ts";
import { installedServiceOn, installService, serviceState, uninstallService } from "../../src/ops/service-install.ts";
import type { RunResult } from "../../src/ops/service-runner.ts";
import { serviceLocation } from "../../src/ops/service-spec.ts";
import { scratchDir } from "../support/ccp.ts";

/** A runner that records each argv and answers from a script: (argv joined by spaces) → result; default exit 0. */
function fakeRunner(answers: Record<string, Partial<RunResult>> = {}): ServiceDeps & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    uid: 501,
    runner: async (argv) => {
      const line = argv.join(" ");
      calls.push(line);
      const a = Object.entries(answers).find(([k]) => line.startsWith(k))?.[1] ?? {};
      return { code: a.code ?? 0, stdout: a.stdout ?? "", stderr: a.stderr ?? "" };
    },
  };
}

function place(manager: "systemd" | "launchd", profile = "default") {
  const home = scratchDir("ccp-service-ctl-");
  const env = readEnv({ HOME: home });
  const loc = serviceLocation(manager, profile, env);
  const floor = manager === "systemd" ? home : dirname(loc.file);
  return { home, env, loc, floor };
}

const UNIT = "# Written by ccp service install\n[Service]\nExecStart=/opt/ccp start --foreground --port 8123 --profile default\n";

describe("systemd", () => {
  test("install writes the unit (0644) under $XDG_CONFIG_HOME/systemd/user, reloads, enables and starts it", async () => {
    const { loc, floor, home } = place("systemd");
    expect(loc.file).toBe(join(home, ".config", "systemd", "user", "ccp.service"));
    const deps = fakeRunner();
    expect(await installService({ loc, text: UNIT, force: false, deps, floor })).toEqual({ ok: true, replaced: false });
    expect(deps.calls).toEqual(["systemctl --user daemon-reload", "systemctl --user enable --now ccp.service"]);
    expect(readFileSync(loc.file, "utf8")).toBe(UNIT);
    expect(statSync(loc.file).mode & 0o777).toBe(0o644);
  });

  test("XDG_CONFIG_HOME is honoured, and a profile names its own unit", () => {
    const home = scratchDir("ccp-service-xdg-");
    const loc = serviceLocation("systemd", "dev", readEnv({ HOME: home, XDG_CONFIG_HOME: join(home, "xdg") }));
    expect(loc).toEqual({ ref: { manager: "systemd", name: "ccp-dev.service" }, file: join(home, "xdg", "systemd", "user", "ccp-dev.service") });
  });

  test("an existing unit is kept without --force; with it, replaced and restarted", async () => {
    const { loc, floor } = place("systemd");
    mkdirSync(dirname(loc.file), { recursive: true });
    writeFileSync(loc.file, "old");
    const deps = fakeRunner();
    expect(await installService({ loc, text: UNIT, force: false, deps, floor })).toEqual({ ok: false, reason: "exists" });
    expect(deps.calls).toEqual([]);
    expect(readFileSync(loc.file, "utf8")).toBe("old");
    expect(await installService({ loc, text: UNIT, force: true, deps, floor })).toEqual({ ok: true, replaced: true });
    expect(deps.calls).toEqual(["systemctl --user daemon-reload", "systemctl --user enable ccp.service", "systemctl --user restart ccp.service"]);
    expect(readFileSync(loc.file, "utf8")).toBe(UNIT);
  });

  test("a manager that refuses leaves nothing behind: a new unit and its directories removed, a replaced one put back", async () => {
    const { loc, floor, home } = place("systemd");
    const deps = fakeRunner({ "systemctl --user enable": { code: 1, stderr: "Failed to connect to bus: No medium found" } });
    const r = await installService({ loc, text: UNIT, force: false, deps, floor });
    expect(r).toEqual({ ok: false, reason: "manager", message: "systemctl --user enable --now ccp.service exited 1: Failed to connect to bus: No medium found" });
    expect(existsSync(join(home, ".config"))).toBe(false);
    expect(deps.calls.at(-1)).toBe("systemctl --user daemon-reload");
    mkdirSync(dirname(loc.file), { recursive: true });
    writeFileSync(loc.file, "old");
    expect((await installService({ loc, text: UNIT, force: true, deps, floor })).ok).toBe(false);
    expect(readFileSync(loc.file, "utf8")).toBe("old");
  });

  test("uninstall stops and disables it, removes the file and reloads; nothing installed is a no-op", async () => {
    const { loc, floor, home } = place("systemd");
    const deps = fakeRunner();
    await installService({ loc, text: UNIT, force: false, deps, floor });
    deps.calls.length = 0;
    expect(await uninstallService({ loc, deps, floor })).toEqual({ removed: true, warnings: [] });
    expect(deps.calls).toEqual(["systemctl --user disable --now ccp.service", "systemctl --user daemon-reload"]);
    expect(existsSync(join(home, ".config"))).toBe(false);
    deps.calls.length = 0;
    expect(await uninstallService({ loc, deps, floor })).toEqual({ removed: false, warnings: [] });
    expect(deps.calls).toEqual([]);
    // A unit of that name ccp did not write is left alone, unless forced.
    mkdirSync(dirname(loc.file), { recursive: true });
    writeFileSync(loc.file, "[Service]\nExecStart=/opt/mine\n");
    expect(await uninstallService({ loc, deps, floor })).toEqual({ removed: false, foreign: true, warnings: [] });
    expect(existsSync(loc.file)).toBe(true);
    expect((await uninstallService({ loc, deps, floor, force: true })).removed).toBe(true);
  });

  test("status asks is-enabled and is-active, and reads the port from the unit", async () => {
    const { loc, floor, env } = place("systemd");
    await installService({ loc, text: UNIT, force: false, deps: fakeRunner(), floor });
    const deps = fakeRunner({ "systemctl --user is-enabled": { stdout: "enabled\n" }, "systemctl --user is-active": { code: 3, stdout: "inactive\n" } });
    expect(await serviceState(loc, deps)).toEqual({ installed: true, enabled: true, running: false, detail: "enabled, inactive", problem: undefined, port: 8123, host: "127.0.0.1", log: undefined });
    expect(deps.calls).toEqual(["systemctl --user is-enabled ccp.service", "systemctl --user is-active ccp.service"]);
    const noBus = await inspect(loc.ref, fakeRunner({ systemctl: { code: 1, stderr: "Failed to connect to bus" } }));
    expect(noBus.problem).toContain("Failed to connect to bus");
    expect(installedServiceOn("systemd", 8123, env)).toEqual(loc.ref);
    expect(installedServiceOn("systemd", 8124, env)).toBeUndefined();
  });

  test("stop and restart of a service's ccp are systemctl --user stop / restart", async () => {
    const deps = fakeRunner();
    const ref = { manager: "systemd" as const, name: "ccp-dev.service" };
    expect(await stopManaged(ref, deps)).toBeUndefined();
    expect(await restartManaged(ref, "/unused", deps)).toBeUndefined();
    expect(deps.calls).toEqual(["systemctl --user stop ccp-dev.service", "systemctl --user restart ccp-dev.service"]);
  });
});

describe("launchd", () => {
  const PLIST =
    '<?xml version="1.0" encoding="UTF-8"?>\n<!-- Written by ccp service install -->\n' +
    '<plist version="1.0"><dict><key>ProgramArguments</key><array><string>--port</string>\n<string>8124</string></array></dict></plist>\n';

  test("install writes ~/Library/LaunchAgents/<label>.plist, enables and bootstraps it in gui/<uid>; --force boots out the old one first", async () => {
    const { loc, floor, home } = place("launchd", "dev");
    expect(loc.file).toBe(join(home, "Library", "LaunchAgents", "local.ccp.dev.plist"));
    const deps = fakeRunner();
    expect(await installService({ loc, text: PLIST, force: false, deps, floor })).toEqual({ ok: true, replaced: false });
    expect(deps.calls).toEqual(["launchctl enable gui/501/local.ccp.dev", `launchctl bootstrap gui/501 ${loc.file}`]);
    deps.calls.length = 0;
    expect((await installService({ loc, text: PLIST, force: true, deps, floor })).ok).toBe(true);
    expect(deps.calls).toEqual(["launchctl bootout gui/501/local.ccp.dev", "launchctl enable gui/501/local.ccp.dev", `launchctl bootstrap gui/501 ${loc.file}`]);
  });

  test("uninstall boots it out when loaded, and removes the plist (LaunchAgents itself stays)", async () => {
    const { loc, floor } = place("launchd");
    await installService({ loc, text: PLIST, force: false, deps: fakeRunner(), floor });
    const loaded = fakeRunner();
    expect(await uninstallService({ loc, deps: loaded, floor })).toEqual({ removed: true, warnings: [] });
    expect(loaded.calls).toEqual(["launchctl print gui/501/local.ccp", "launchctl bootout gui/501/local.ccp"]);
    expect(existsSync(loc.file)).toBe(false);
    expect(existsSync(dirname(loc.file))).toBe(true);
    await installService({ loc, text: PLIST, force: false, deps: fakeRunner(), floor });
    const unloaded = fakeRunner({ "launchctl print": { code: 113, stderr: "Could not find service" } });
    expect(await uninstallService({ loc, deps: unloaded, floor })).toEqual({ removed: true, warnings: [] });
    expect(unloaded.calls).toEqual(["launchctl print gui/501/local.ccp"]);
  });

  test("status reads launchctl print; stop boots out; restart kickstarts a loaded agent and bootstraps a booted-out one", async () => {
    const { loc, floor } = place("launchd");
    await installService({ loc, text: PLIST, force: false, deps: fakeRunner(), floor });
    const running = fakeRunner({ "launchctl print": { stdout: "gui/501/local.ccp = {\n\tactive count = 1\n\tstate = running\n\tpid = 4242\n}\n" } });
    expect(await serviceState(loc, running)).toMatchObject({ installed: true, enabled: true, running: true, detail: "loaded, running", port: 8124 });
    const deps = fakeRunner();
    await stopManaged(loc.ref, deps);
    await restartManaged(loc.ref, loc.file, deps);
    expect(deps.calls).toEqual(["launchctl bootout gui/501/local.ccp", "launchctl print gui/501/local.ccp", "launchctl kickstart -k gui/501/local.ccp"]);
    const out = fakeRunner({ "launchctl print": { code: 113 } });
    await restartManaged(loc.ref, loc.file, out);
    expect(out.calls).toEqual(["launchctl print gui/501/local.ccp", `launchctl bootstrap gui/501 ${loc.file}`]);
  });
});
