import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ensureDebianPackage } from "./apt.ts";
import { scratchDir } from "./ccp.ts";

/** Why tmux cannot be had (Debian's package, installed on demand), or undefined when it is there. */
export const tmuxUnavailable = (): string | undefined => ensureDebianPackage("tmux", () => Bun.which("tmux") !== null);

/**
 * One program in a tmux pane of a private tmux server (its own socket, no tmux.conf), to drive a
 * full-screen terminal program as a person would: type, read the screen. `kill()` ends the server
 * and the pane's whole process group.
 */
export interface TmuxPane {
  /** The screen as text (no colours), one string with a line per row. */
  screen(): string;
  /** Types `text` literally, then presses Enter. */
  type(text: string): Promise<void>;
  /** Polls the screen until `pred` holds (then returns it) or `ms` pass (then returns undefined). */
  waitFor(pred: (screen: string) => boolean, ms: number): Promise<string | undefined>;
  kill(): void;
}

export interface TmuxOptions {
  readonly argv: readonly string[];
  /** The program's whole environment (tmux's own is not passed on). */
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly cols?: number;
  readonly rows?: number;
}

export function startInTmux(o: TmuxOptions): TmuxPane {
  const dir = scratchDir("ccp-tmux-");
  const socket = join(dir, "tmux.sock");
  const tmux = (...args: string[]) => spawnSync("tmux", ["-S", socket, "-f", "/dev/null", ...args], { encoding: "utf8", timeout: 10_000 });
  const envArgs = Object.entries(o.env).map(([k, v]) => `${k}=${v}`);
  const started = tmux("new-session", "-d", "-x", String(o.cols ?? 160), "-y", String(o.rows ?? 40), "-c", o.cwd, "env", "-i", ...envArgs, ...o.argv);
  if (started.status !== 0) throw new Error(`tmux new-session failed: ${started.stderr}`);
  const pids = tmux("display-message", "-p", "#{pid} #{pane_pid}")
    .stdout.trim()
    .split(" ")
    .map(Number)
    .filter((n) => n > 0);
  const screen = () => tmux("capture-pane", "-p").stdout ?? "";
  return {
    screen,
    async type(text) {
      tmux("send-keys", "-l", text);
      await Bun.sleep(300);
      tmux("send-keys", "Enter");
    },
    async waitFor(pred, ms) {
      const until = Date.now() + ms;
      for (;;) {
        const s = screen();
        if (pred(s)) return s;
        if (Date.now() > until) return undefined;
        await Bun.sleep(250);
      }
    },
    kill() {
      tmux("kill-server");
      const [server, pane] = pids;
      // The pane's program leads its own process group: that takes its children too.
      if (pane) signal(-pane);
      if (server) signal(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function signal(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}
