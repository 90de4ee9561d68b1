import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CcpProcess, scratchDir, startCcp } from "../support/ccp.ts";
import { CLAUDE_BIN, HAIKU, SONNET, writeFirstRunDone } from "../support/claude.ts";
import { cliHome, expectExit, runCli } from "../support/cli.ts";
import { type Behaviour, type FakeUpstream, startFakeUpstream, zaiQuotaBody } from "../support/fake-upstream/index.ts";
import { startInTmux, type TmuxPane, tmuxUnavailable } from "../support/tmux.ts";
import { toToml } from "../support/toml.ts";

/**
 * `ccp statusline` in a real interactive Claude Code session, as a user meets it: the real `claude`
 * in a tmux pane, with the statusLine `ccp statusline --install` wrote, talking to a real ccp whose
 * route for Haiku is the chain zai → anthropic, against the fake upstream. Claude Code runs the
 * status line once it is up (before any answer: the route's first lane, no reading yet) and again
 * after the answer: Z.ai's 1308 wall moved the request to the Anthropic lane, whose answer said
 * where the plan stands (42% of 5 h, 13% of the week), and the line under the prompt says so. A
 * session already running when the setting is written shows the line within seconds, no answer needed.
 */
const why = tmuxUnavailable();
if (why) console.warn(`statusline-tui test skipped: no tmux (${why})`);

const KEY = "sk-ant-api03-client-key-for-tests";
const HOUR = 3_600_000;
let upstream: FakeUpstream;
beforeAll(async () => {
  if (!why) upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});
beforeEach(async () => {
  await upstream?.reset();
});

/** How long each screen may take to appear (Claude Code's start is the slow part, seconds on a busy machine). */
const WAIT_MS = 60_000;

/** "YYYY-MM-DD hh:mm:ss" in China time (UTC+8), as Z.ai writes its reset times. */
const chinaTime = (ms: number) =>
  new Date(ms + 8 * HOUR)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "");

/** The plans as the upstream plays them: the subscription at 42% / 13%; Z.ai's 5-hour window used up, its next request walled (1308). */
async function playPlans(): Promise<void> {
  const now = Date.now();
  const at = (ms: number) => String(Math.floor(ms / 1000));
  await upstream.setHeaders(
    {
      "anthropic-ratelimit-unified-status": "allowed",
      "anthropic-ratelimit-unified-5h-utilization": "0.42",
      "anthropic-ratelimit-unified-5h-reset": at(now + 2.5 * HOUR),
      "anthropic-ratelimit-unified-5h-status": "allowed",
      "anthropic-ratelimit-unified-7d-utilization": "0.13",
      "anthropic-ratelimit-unified-7d-reset": at(now + 4 * 24 * HOUR + 6 * HOUR),
      "anthropic-ratelimit-unified-7d-status": "allowed",
    },
    { pathPrefix: "/anthropic/" },
  );
  // Z.ai's quota endpoint says what its wall says: the 5-hour window at 100% (a reading below 100% would end the wall).
  const body = zaiQuotaBody(now) as { data: { limits: { percentage: number }[] } };
  body.data.limits[0]!.percentage = 100;
  await upstream.setQuota({ body });
  const wall: Behaviour = {
    kind: "status",
    status: 429,
    body: { type: "error", error: { type: "rate_limit_error", code: "1308", message: `Usage limit reached for 5 hour. Your limit will reset at ${chinaTime(now + 3 * HOUR)}` } },
  };
  await upstream.script([wall], { pathPrefix: "/zai/", endpoint: "messages" });
}

const config = () =>
  toToml({
    port: 0,
    lanes: {
      zai: { base_url: `${upstream.url}/zai/api/anthropic`, auth: "key", key_env: "ZAI_API_KEY", transport: "h1", dialect: "zai", ca_file: upstream.caFile },
      anthropic: { base_url: `${upstream.url}/anthropic`, transport: "h2", ca_file: upstream.caFile },
    } as never,
    routes: [
      { match: "claude-haiku-*", lanes: ["zai", "anthropic"] },
      { match: "*", lane: "anthropic" },
    ] as never,
  });

/** The row of the screen holding `text`, and the row of the prompt (`❯`) above it. */
function rows(screen: string, text: string | RegExp): { line: number; prompt: number } {
  const lines = screen.split("\n");
  const line = lines.findIndex((l) => (typeof text === "string" ? l.includes(text) : text.test(l)));
  const prompt = lines.findLastIndex((l, i) => i < line && l.startsWith("❯"));
  return { line, prompt };
}

interface Session {
  readonly ccp: CcpProcess;
  readonly pane: TmuxPane;
  /** `ccp statusline --install` for this session's ccp, as the user runs it. */
  install(): Promise<void>;
}

/**
 * A real ccp and the real interactive `claude --model <model>` in a tmux pane, in a scratch HOME
 * and CLAUDE_CONFIG_DIR whose first run is done; the statusLine set before Claude Code starts
 * (`installFirst`, with Claude Code's `refreshInterval` added by hand when given, and --install run
 * again over it) or left for the test. Everything is stopped and removed after `fn`.
 */
async function withSession(model: string, o: { installFirst: boolean; refreshInterval?: number }, fn: (s: Session) => Promise<void>): Promise<void> {
  const home = scratchDir("ccp-tui-");
  const configDir = join(home, ".claude");
  const work = join(home, "work");
  mkdirSync(work, { recursive: true });
  writeFirstRunDone(configDir, work, KEY);
  const settings = join(configDir, "settings.json");
  writeFileSync(settings, "{}\n");
  let ccp: CcpProcess | undefined;
  let pane: TmuxPane | undefined;
  try {
    ccp = await startCcp({ config: config(), env: { ZAI_API_KEY: "zai-key-for-tui-tests" } });
    const port = String(ccp.port);
    // The user's way: ccp writes the statusLine setting into Claude Code's settings.json.
    const install = async () => void expectExit(await runCli(["statusline", "--install", "--settings", settings, "--port", port], { env: cliHome().env }), 0);
    if (o.installFirst) await install();
    if (o.refreshInterval !== undefined) {
      const set = JSON.parse(readFileSync(settings, "utf8"));
      writeFileSync(settings, JSON.stringify({ ...set, statusLine: { ...set.statusLine, refreshInterval: o.refreshInterval } }));
      await install();
      expect(JSON.parse(readFileSync(settings, "utf8")).statusLine.refreshInterval).toBe(o.refreshInterval);
    }
    pane = startInTmux({
      argv: [CLAUDE_BIN, "--model", model],
      cwd: work,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home,
        TERM: "xterm-256color",
        CLAUDE_CONFIG_DIR: configDir,
        CCP_HOME: join(ccp.home, "state"),
        ANTHROPIC_BASE_URL: ccp.url,
        ANTHROPIC_API_KEY: KEY,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      },
    });
    await fn({ ccp, pane, install });
  } finally {
    pane?.kill();
    await ccp?.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** The screen once `text` is on it, else the screen as it is when WAIT_MS have passed (for the failure message). */
async function screenWith(pane: TmuxPane, text: string | RegExp, also: (s: string) => boolean = () => true): Promise<string> {
  const has = (s: string) => (typeof text === "string" ? s.includes(text) : text.test(s)) && also(s);
  return (await pane.waitFor(has, WAIT_MS)) ?? pane.screen();
}

/** `text` is on the screen, in the rows just under Claude Code's input prompt. */
function expectUnderPrompt(screen: string, text: string | RegExp): void {
  if (typeof text === "string") expect(screen).toContain(text);
  else expect(screen).toMatch(text);
  const { line, prompt } = rows(screen, text);
  expect(prompt).toBeGreaterThanOrEqual(0);
  expect(line - prompt).toBeLessThanOrEqual(3);
}

test.skipIf(why !== undefined)(
  "the line under Claude Code's prompt: the route's first lane at start; after a Z.ai wall, the Anthropic lane it moved to and that plan's use",
  async () => {
    await playPlans();
    await withSession(HAIKU, { installFirst: true }, async ({ ccp, pane }) => {
      // Up, no answer yet: Claude Code has run the status line once, with the session's model on stdin.
      const first = "ccp zai ✓ no reading yet";
      expectUnderPrompt(await screenWith(pane, first), first);

      await pane.type("say ok");
      const after = /ccp ↪ anthropic \(zai walled\) ✓ 5h 42% ↻2h(29|30)m · 7d 13% ↻4d(5|6)h/;
      const answered = await screenWith(pane, after, (s) => /^● ok\s*$/m.test(s));
      expect(answered).toMatch(/^● ok\s*$/m);
      expectUnderPrompt(answered, after);
      expect(answered).not.toContain(first);
      expect(rows(answered, after).prompt).toBeGreaterThan(rows(answered, /^● ok/).line);

      const [line] = (await ccp.usage(1)).filter((l) => l.op === "messages");
      expect(line).toMatchObject({ lane: "anthropic", rerouted_from: "zai", reroute_reason: "quota_wall", status: 200 });
    });
  },
  120_000,
);

test.skipIf(why !== undefined)(
  "a session already running shows the line within seconds of ccp statusline --install, before any answer",
  async () => {
    await withSession(SONNET, { installFirst: false }, async ({ pane, install }) => {
      const up = await screenWith(pane, /^❯/m);
      expect(up).toMatch(/^❯/m);
      expect(up).not.toContain("ccp ");
      await install();
      const line = "ccp anthropic ✓ no reading yet";
      expectUnderPrompt(await screenWith(pane, line), line);
      expect((await upstream.requests()).filter((r) => r.path.includes("/v1/messages"))).toEqual([]);
    });
  },
  120_000,
);

test.skipIf(why !== undefined)(
  "with Claude Code's refreshInterval (kept by --install), an idle session's line follows ccp: stopped, it says ccp: off",
  async () => {
    await withSession(SONNET, { installFirst: true, refreshInterval: 1 }, async ({ ccp, pane }) => {
      const on = "ccp anthropic ✓ no reading yet";
      expectUnderPrompt(await screenWith(pane, on), on);
      await ccp.stop();
      const offLine = /^\s*ccp: off\s*$/m;
      const off = await screenWith(pane, offLine);
      expectUnderPrompt(off, offLine);
      expect(off).not.toContain(on);
    });
  },
  120_000,
);
