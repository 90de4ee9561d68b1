import { expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type CcpProcess, scratchDir, startCcp } from "../support/ccp.ts";
import { CLAUDE_BIN, HAIKU, writeFirstRunDone } from "../support/claude.ts";
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
 * where the plan stands (42% of 5 h, 13% of the week), and the line under the prompt says so.
 */
const why = tmuxUnavailable();
if (why) console.warn(`statusline-tui test skipped: no tmux (${why})`);

const KEY = "sk-ant-api03-client-key-for-tests";
const HOUR = 3_600_000;
/** How long each screen may take to appear (Claude Code's start is the slow part, seconds on a busy machine). */
const WAIT_MS = 60_000;

/** "YYYY-MM-DD hh:mm:ss" in China time (UTC+8), as Z.ai writes its reset times. */
const chinaTime = (ms: number) =>
  new Date(ms + 8 * HOUR)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "");

/** The plans as the upstream plays them: the subscription at 42% / 13%; Z.ai's 5-hour window used up, its next request walled (1308). */
async function playPlans(upstream: FakeUpstream): Promise<void> {
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

const config = (upstream: FakeUpstream) =>
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

test.skipIf(why !== undefined)(
  "the line under Claude Code's prompt: the route's first lane at start; after a Z.ai wall, the Anthropic lane it moved to and that plan's use",
  async () => {
    const upstream = await startFakeUpstream();
    const home = scratchDir("ccp-tui-");
    let ccp: CcpProcess | undefined;
    let pane: TmuxPane | undefined;
    try {
      await playPlans(upstream);
      ccp = await startCcp({ config: config(upstream), env: { ZAI_API_KEY: "zai-key-for-tui-tests" } });
      const configDir = join(home, ".claude");
      const work = join(home, "work");
      mkdirSync(work, { recursive: true });
      // The user's way: ccp writes the statusLine setting into Claude Code's settings.json.
      const settings = join(configDir, "settings.json");
      expectExit(await runCli(["statusline", "--install", "--settings", settings, "--port", String(ccp.port)], { env: cliHome().env }), 0);
      writeFirstRunDone(configDir, work, KEY);
      pane = startInTmux({
        argv: [CLAUDE_BIN, "--model", HAIKU],
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

      // Up, no answer yet: Claude Code has run the status line once, with the session's model on stdin.
      const first = "ccp zai ✓ no reading yet";
      const atStart = (await pane.waitFor((s) => s.includes(first), WAIT_MS)) ?? pane.screen();
      expect(atStart).toContain(first);
      const start = rows(atStart, first);
      expect(start.prompt).toBeGreaterThanOrEqual(0);
      expect(start.line - start.prompt).toBeLessThanOrEqual(3);

      await pane.type("say ok");
      const after = /ccp ↪ anthropic \(zai walled\) ✓ 5h 42% ↻2h(29|30)m · 7d 13% ↻4d(5|6)h/;
      const answered = (await pane.waitFor((s) => after.test(s) && /^● ok\s*$/m.test(s), WAIT_MS)) ?? pane.screen();
      expect(answered).toMatch(/^● ok\s*$/m);
      expect(answered).toMatch(after);
      expect(answered).not.toContain(first);
      const end = rows(answered, after);
      expect(end.prompt).toBeGreaterThan(rows(answered, /^● ok/).line);
      expect(end.line - end.prompt).toBeLessThanOrEqual(3);

      const [line] = (await ccp.usage(1)).filter((l) => l.op === "messages");
      expect(line).toMatchObject({ lane: "anthropic", rerouted_from: "zai", reroute_reason: "quota_wall", status: 200 });
    } finally {
      pane?.kill();
      await ccp?.stop();
      await upstream.close();
      rmSync(home, { recursive: true, force: true });
    }
  },
  120_000,
);
