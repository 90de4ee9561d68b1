/**
 * A stand-in for `systemctl --user`, put on PATH by tests (there is no user systemd on the test
 * machine): it logs every call's argv as a JSON line to $FAKE_SYSTEMD_DIR/calls.log and plays a
 * user manager well enough for ccp's service commands. `start` reads the unit file from
 * $XDG_CONFIG_HOME/systemd/user (else ~/.config/systemd/user), unquotes ExecStart=, Environment=
 * and EnvironmentFile= by systemd's rules (systemd.service(5) "Command lines"; an implementation
 * apart from the generator's) and runs it detached with only that environment plus HOME and PATH,
 * its output in <unit>.journal; `stop` sends SIGTERM and waits. $FAKE_SYSTEMCTL_FAIL=<verb> makes
 * that verb fail as systemctl does without a user bus.
 */
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { systemdWords } from "./systemd-words.ts";

const dir = process.env.FAKE_SYSTEMD_DIR ?? "";
const argv = process.argv.slice(2);
appendFileSync(join(dir, "calls.log"), `${JSON.stringify(argv)}\n`);
const unitDir = join(process.env.XDG_CONFIG_HOME || join(process.env.HOME ?? "", ".config"), "systemd", "user");

const settings = (text: string, key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!);
const pidFile = (unit: string) => join(dir, `${unit}.pid`);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
  } catch {
    return false;
  }
};
const running = (unit: string) => existsSync(pidFile(unit)) && alive(Number(readFileSync(pidFile(unit), "utf8")));

function start(unit: string): void {
  if (running(unit)) return;
  const text = readFileSync(join(unitDir, unit), "utf8");
  // $ is expanded (and $$ is a $) in the arguments, not in the executable's path.
  const exec = systemdWords(settings(text, "ExecStart")[0]!).map((w, i) => (i === 0 ? w : w.replaceAll("$$", "$")).replaceAll("%%", "%"));
  const env: Record<string, string> = { HOME: process.env.HOME ?? "", PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const line of settings(text, "Environment")) {
    for (const w of systemdWords(line)) {
      const [k, ...v] = w.replaceAll("%%", "%").split("=");
      env[k!] = v.join("=");
    }
  }
  for (const f of settings(text, "EnvironmentFile")) {
    const path = f.replace(/^-/, "").replaceAll("%%", "%");
    if (!existsSync(path)) continue;
    for (const m of readFileSync(path, "utf8").matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)) env[m[1]!] = m[2]!;
  }
  writeFileSync(join(dir, `${unit}.exec.json`), JSON.stringify({ exec, env }));
  const out = openSync(join(dir, `${unit}.journal`), "a");
  const child = Bun.spawn(exec, { env, stdio: ["ignore", out, out], detached: true });
  child.unref();
  closeSync(out);
  writeFileSync(pidFile(unit), String(child.pid));
}

async function stop(unit: string): Promise<void> {
  if (!existsSync(pidFile(unit))) return;
  const pid = Number(readFileSync(pidFile(unit), "utf8"));
  if (alive(pid)) process.kill(pid, "SIGTERM");
  for (let i = 0; i < 400 && alive(pid); i++) await Bun.sleep(50);
  if (alive(pid)) process.kill(pid, "SIGKILL");
  rmSync(pidFile(unit), { force: true });
}

async function main(): Promise<number> {
  const [user, verb, ...rest] = argv;
  if (user !== "--user") return fail("fake systemctl: only --user is played");
  if (process.env.FAKE_SYSTEMCTL_FAIL === verb) return fail("Failed to connect to bus: No medium found");
  const now = rest.includes("--now");
  const unit = rest.filter((a) => a !== "--now")[0] ?? "";
  const enabled = join(dir, `${unit}.enabled`);
  switch (verb) {
    case "daemon-reload":
      return 0;
    case "enable":
      if (!existsSync(join(unitDir, unit))) return fail(`Failed to enable unit: Unit file ${unit} does not exist.`);
      writeFileSync(enabled, "");
      if (now) start(unit);
      return 0;
    case "disable":
      rmSync(enabled, { force: true });
      if (now) await stop(unit);
      return 0;
    case "start":
      start(unit);
      return 0;
    case "stop":
      await stop(unit);
      return 0;
    case "restart":
      await stop(unit);
      start(unit);
      return 0;
    case "is-enabled":
      console.log(existsSync(enabled) ? "enabled" : existsSync(join(unitDir, unit)) ? "disabled" : "not-found");
      return existsSync(enabled) ? 0 : 1;
    case "is-active":
      console.log(running(unit) ? "active" : "inactive");
      return running(unit) ? 0 : 3;
    default:
      return fail(`fake systemctl: ${verb} is not played`);
  }
}

function fail(message: string): number {
  console.error(message);
  return 1;
}

if (import.meta.main) process.exit(await main());
