import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, scratchDir } from "../support/ccp.ts";
import { cliHome, type CliHome, freePort, killLeftovers, runCli } from "../support/cli.ts";

/**
 * Attack review (local attacker): `ccp stop` / `ccp restart` and `ccp service` against a port
 * another local user squats, and service files ccp did not write. A stand-in systemctl
 * (test/support/fake-systemctl.ts) logs every call.
 *
 * FINDINGS (fail on the current code):
 * - Another local user listening on the port `ccp stop` targets (8082 by default, when the user's
 *   ccp is not running) answers GET /status with service "ccp" and managed_by naming any unit:
 *   `ccp stop` runs `systemctl --user stop <that unit>` (and `ccp restart` restarts it) in the
 *   victim's user manager. /status's managed_by is cast, not checked, and never compared with the
 *   unit files ccp installed.
 * - The same impostor names any pid: `ccp stop` sends SIGTERM to that process of the victim's
 *   (the state-file path checks looksLikeCcpServer, the /status path does not).
 * - `ccp service uninstall` disables and deletes a ccp.service the user wrote by hand (it carries no
 *   "Written by ccp service install" header): install refuses to overwrite it, uninstall does not.
 *
 * DEFENCES that hold: install --force over a unit that is a symlink replaces the link and leaves
 * its target untouched (rename, not write-through).
 */
setDefaultTimeout(120_000);

let h: CliHome;
let fake: string;
let unitDir: string;
const calls = () =>
  existsSync(join(fake, "calls.log"))
    ? readFileSync(join(fake, "calls.log"), "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as string[]).join(" "))
    : [];

beforeAll(() => {
  const root = scratchDir("ccp-attack-service-");
  fake = join(root, "fake-systemd");
  const bin = join(root, "bin");
  mkdirSync(fake);
  mkdirSync(bin);
  writeFileSync(join(bin, "systemctl"), `#!/bin/sh\nexec "${BUN}" "${join(ROOT, "test", "support", "fake-systemctl.ts")}" "$@"\n`);
  chmodSync(join(bin, "systemctl"), 0o755);
  h = cliHome({ FAKE_SYSTEMD_DIR: fake });
  h.env.PATH = `${bin}:${h.env.PATH}`;
  h.env.XDG_CONFIG_HOME = join(h.home, ".config");
  unitDir = join(h.env.XDG_CONFIG_HOME, "systemd", "user");
});

afterAll(() => {
  if (h) killLeftovers(h.state);
});

/** Another local user's server on the port: it says it is a ccp, with whatever pid and manager it likes. */
function impostor(port: number, body: Record<string, unknown>) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/status") return Response.json({ service: "ccp", port, ...body });
      // /healthz says "not a ccp", so the stop that follows does not wait for the port to free.
      return new Response("no", { status: 404 });
    },
  });
}

/** A process of the victim's that has nothing to do with ccp (an editor, a build). */
function victimProcess() {
  return Bun.spawn(["sleep", "300"], { stdio: ["ignore", "ignore", "ignore"] });
}

describe("attack-local: stop/restart trust a squatted port's /status", () => {
  test("ccp stop does not stop an arbitrary systemd unit named by the /status of whatever listens on the port", async () => {
    const port = await freePort();
    const server = impostor(port, { pid: 1, managed_by: { manager: "systemd", name: "pipewire.service" } });
    try {
      writeFileSync(join(fake, "calls.log"), "");
      const r = await runCli(["stop", "--port", String(port)], { env: h.env, timeoutMs: 90_000 });
      console.log(`ccp stop: exit ${r.code}; systemctl calls: ${JSON.stringify(calls())}\n${r.stdout}${r.stderr}`);
      expect(calls().filter((c) => c.includes("pipewire.service"))).toEqual([]);
    } finally {
      server.stop(true);
    }
  });

  test("ccp restart does not restart an arbitrary systemd unit named by the port's /status", async () => {
    const port = await freePort();
    const server = impostor(port, { pid: 1, managed_by: { manager: "systemd", name: "gpg-agent.service" } });
    try {
      writeFileSync(join(fake, "calls.log"), "");
      const r = await runCli(["restart", "--port", String(port)], { env: h.env, timeoutMs: 90_000 });
      console.log(`ccp restart: exit ${r.code}; systemctl calls: ${JSON.stringify(calls())}`);
      expect(calls().filter((c) => c.includes("gpg-agent.service"))).toEqual([]);
    } finally {
      server.stop(true);
    }
  });

  test("ccp stop does not SIGTERM a process of the user's that the port's /status names as its pid", async () => {
    const port = await freePort();
    const victim = victimProcess();
    const server = impostor(port, { pid: victim.pid, managed_by: null });
    try {
      const r = await runCli(["stop", "--port", String(port)], { env: h.env, timeoutMs: 90_000 });
      console.log(`ccp stop: exit ${r.code}: ${r.stdout}${r.stderr}`);
      await Bun.sleep(500);
      expect(victim.exitCode).toBeNull();
      expect(victim.signalCode).toBeNull();
    } finally {
      server.stop(true);
      victim.kill("SIGKILL");
    }
  });
});

describe("attack-local: service files ccp did not write", () => {
  test("ccp service uninstall leaves a hand-written ccp.service (no 'Written by ccp service install') alone", async () => {
    mkdirSync(unitDir, { recursive: true });
    const mine = "[Unit]\nDescription=my own ccp, tuned by hand\n[Service]\nExecStart=/opt/ccp/ccp start --foreground --port 9999\n";
    const unit = join(unitDir, "ccp.service");
    writeFileSync(unit, mine);
    writeFileSync(join(fake, "calls.log"), "");
    try {
      const r = await runCli(["service", "uninstall"], { env: h.env, timeoutMs: 60_000 });
      console.log(`ccp service uninstall: exit ${r.code}; calls ${JSON.stringify(calls())}\n${r.stdout}${r.stderr}`);
      expect(existsSync(unit) ? readFileSync(unit, "utf8") : "(removed)").toBe(mine);
      expect(calls()).not.toContain("--user disable --now ccp.service");
    } finally {
      rmSync(unit, { force: true });
    }
  });

  test("defence: install --force over a unit that is a symlink does not write through it", async () => {
    mkdirSync(unitDir, { recursive: true });
    const target = join(h.home, "dotfiles-ccp.service");
    const original = "[Service]\nExecStart=/bin/true\n";
    writeFileSync(target, original);
    const unit = join(unitDir, "ccp.service");
    rmSync(unit, { force: true });
    symlinkSync(target, unit);
    const port = await freePort();
    try {
      const r = await runCli(["service", "install", "--force", "--port", String(port)], { env: h.env, timeoutMs: 90_000 });
      console.log(`install --force: exit ${r.code}`);
      expect(readFileSync(target, "utf8")).toBe(original);
      expect(lstatSync(unit).isSymbolicLink()).toBe(false);
    } finally {
      await runCli(["service", "uninstall"], { env: h.env, timeoutMs: 60_000 });
      rmSync(unit, { force: true });
    }
  });
});
