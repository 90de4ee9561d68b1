import { PROXY_KEY_ENV } from "../../config/access.ts";
import { type Env, readEnv } from "../../config/env.ts";
import { askQuota, keyFromCustomHeaders, type QuotaAnswer } from "../../ops/quota-ask.ts";
import { listStates, readState } from "../../ops/state-file.ts";
import { ExitError } from "../exit-error.ts";
import { statusLinePaint } from "../render.ts";
import { parseClaudeInput, statusLineText } from "../statusline-line.ts";

/**
 * `ccp statusline`: the command of Claude Code's `statusLine` setting. Claude Code runs it when a
 * session starts, after each answer and when the setting changes (test/e2e/statusline-tui.test.ts
 * watches it do so), debounced, and cancels a run still going (CLAUDE-CODE-GATEWAY.md §5), so it is
 * quick and never fails: the entry point dispatches it before the command table loads
 * (src/cli/main.ts), it loads neither commander nor the config unless it must, every wait is
 * bounded, and whatever happens it prints one line and exits 0.
 */
export interface StatuslineOptions {
  readonly port?: number | undefined;
  readonly install?: boolean | undefined;
  readonly settings?: string | undefined;
  readonly force?: boolean | undefined;
}

/** Claude Code writes its JSON and closes stdin at once; a stdin that stays open is read no longer than this. */
export const STDIN_WAIT_MS = 150;
/** The whole exchange with ccp (a retry with the config's proxy key included). */
export const ASK_BUDGET_MS = 300;

export async function statusline(opts: StatuslineOptions): Promise<void> {
  if (opts.install) return (await import("./statusline-install.ts")).installStatusline(opts);
  if (opts.settings !== undefined || opts.force) throw new ExitError(2, "--settings and --force go with --install", "ccp statusline --install --settings FILE [--force]");
  let line: string;
  try {
    line = await statusLine(opts.port);
  } catch {
    line = "ccp: ?";
  }
  console.log(line);
}

async function statusLine(port: number | undefined): Promise<string> {
  const env = readEnv();
  const input = parseClaudeInput(await readStdin(STDIN_WAIT_MS));
  const where = await instanceFor(port, env);
  const until = Date.now() + ASK_BUDGET_MS;
  const ask = (key: string | undefined) => askQuota(where.host, where.port, { model: input.modelId, key, timeoutMs: Math.max(50, until - Date.now()) });
  const key = env.secret(PROXY_KEY_ENV) ?? keyFromCustomHeaders(env.customHeaders);
  let answer: QuotaAnswer = await ask(key);
  if (answer.kind === "refused") {
    // The config may name another variable for the key (proxy_key_env): read it only now, it costs the config loader.
    const { proxyKeyHere } = await import("../../ops/instance.ts");
    const other = proxyKeyHere(env.all);
    if (other && other !== key) answer = await ask(other);
  }
  return statusLineText(answer, input, statusLinePaint());
}

/**
 * Which ccp the session talks to: --port; else the one its Claude Code sends to
 * (ANTHROPIC_BASE_URL, set by `ccp wrap` and `ccp env`); else an instance recorded under
 * $CCP_HOME/run (the lowest port); else the config's address.
 */
export async function instanceFor(port: number | undefined, env: Env): Promise<{ readonly host: string; readonly port: number }> {
  if (port !== undefined) return { host: readState(env.home, port)?.host ?? "127.0.0.1", port };
  const base = baseUrlInstance(env.baseUrl);
  if (base) return base;
  const recorded = listStates(env.home)[0];
  if (recorded) return { host: recorded.host, port: recorded.port };
  try {
    const { loadConfig } = await import("../../config/load.ts");
    const config = loadConfig({});
    return { host: config.host, port: config.port };
  } catch {
    return { host: "127.0.0.1", port: 8082 };
  }
}

/** The host and port of a plain-HTTP base URL (ccp serves plain HTTP); undefined for anything else. */
export function baseUrlInstance(baseUrl: string | undefined): { readonly host: string; readonly port: number } | undefined {
  if (!baseUrl) return undefined;
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== "http:") return undefined;
    return { host: u.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(u.port || 80) };
  } catch {
    return undefined;
  }
}

/** Stdin as text: nothing from a terminal; what has come within `waitMs` from a pipe that stays open; done early once it is whole JSON. */
export function readStdin(waitMs: number): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) return Promise.resolve("");
  return new Promise((resolve) => {
    let text = "";
    // Destroyed, not paused: a stdin that never ends (/dev/zero) would go on being read and starve every timer.
    const done = () => {
      clearTimeout(timer);
      stdin.removeAllListeners();
      stdin.destroy();
      resolve(text);
    };
    const timer = setTimeout(done, waitMs);
    stdin.setEncoding("utf8");
    stdin.on("data", (chunk: string) => {
      text += chunk;
      if (text.length > 1_000_000 || isJson(text)) done();
    });
    stdin.on("end", done);
    stdin.on("error", done);
  });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
