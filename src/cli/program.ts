import { Argument, Command, InvalidArgumentError, Option } from "commander";
import pkg from "../../package.json" with { type: "json" };
import { paint } from "./render.ts";
import type { CompletionOptions } from "./commands/completion.ts";
import type { ConfigOptions } from "./commands/config.ts";
import type { DemoOptions } from "./commands/demo.ts";
import type { EnvOptions } from "./commands/env.ts";
import type { OkOptions } from "./commands/ok.ts";
import type { ProbeOptions } from "./commands/probe.ts";
import type { QuotaOptions } from "./commands/quota.ts";
import type { RestartOptions } from "./commands/restart.ts";
import type { ServiceInstallOptions, ServiceOptions } from "./commands/service.ts";
import type { RouteOptions } from "./commands/route.ts";
import type { ReplayCommandOptions } from "./commands/replay.ts";
import type { StartOptions } from "./commands/start.ts";
import type { StatusOptions } from "./commands/status.ts";
import type { StatuslineOptions } from "./commands/statusline.ts";
import type { StopOptions } from "./commands/stop.ts";
import type { UsageOptions } from "./commands/usage.ts";
import type { UsageStatsOptions } from "./commands/usage-stats.ts";
import type { WrapOptions } from "./commands/wrap.ts";

/**
 * The command table: every subcommand, flag and example in one place.
 * Each action lazy-imports its module, so start-up stays fast.
 */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new InvalidArgumentError("expected a port number between 1 and 65535");
  return n;
}

/** start's --port: 0 asks the system for a free port, which only a foreground server can report back. */
export function parseListenPort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("expected a port number between 1 and 65535 (or 0 with --foreground: a free one)");
  return n;
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return n;
}

/** A count that may be 0 (--tokens). */
export function parseWhole(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("expected a whole number (0 or more)");
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function parseBool(value: string): boolean {
  if (/^(true|yes|1|on)$/i.test(value)) return true;
  if (/^(false|no|0|off)$/i.test(value)) return false;
  throw new InvalidArgumentError("expected true or false");
}

/** Runs a command by name; tests pass a recorder to check argv → options without running anything. */
export type Dispatch = (command: string, ...args: unknown[]) => Promise<void>;

/** Commander hands over parsed options untyped; each loader names the type its command takes. */
const COMMANDS: Record<string, (...args: unknown[]) => Promise<void>> = {
  start: async (o) => (await import("./commands/start.ts")).start(o as StartOptions),
  demo: async (o) => (await import("./commands/demo.ts")).demo(o as DemoOptions),
  stop: async (o) => (await import("./commands/stop.ts")).stop(o as StopOptions),
  restart: async (o) => (await import("./commands/restart.ts")).restart(o as RestartOptions),
  status: async (o) => (await import("./commands/status.ts")).status(o as StatusOptions),
  quota: async (o) => (await import("./commands/quota.ts")).quota(o as QuotaOptions),
  statusline: async (o) => (await import("./commands/statusline.ts")).statusline(o as StatuslineOptions),
  ok: async (o) => (await import("./commands/ok.ts")).ok(o as OkOptions),
  env: async (o) => (await import("./commands/env.ts")).env(o as EnvOptions),
  wrap: async (cmd, args, o) => (await import("./commands/wrap.ts")).wrap(cmd as string, args as string[], o as WrapOptions),
  probe: async (o) => (await import("./commands/probe.ts")).probe(o as ProbeOptions),
  route: async (o) => (await import("./commands/route.ts")).route(o as RouteOptions),
  replay: async (rid, o) => (await import("./commands/replay.ts")).replay(rid as string, o as ReplayCommandOptions),
  usage: async (o) =>
    (o as { stats?: boolean }).stats ? (await import("./commands/usage-stats.ts")).usageStats(o as UsageStatsOptions) : (await import("./commands/usage.ts")).usage(o as UsageOptions),
  "service install": async (o) => (await import("./commands/service.ts")).serviceInstall(o as ServiceInstallOptions),
  "service uninstall": async (o) => (await import("./commands/service.ts")).serviceUninstall(o as ServiceOptions),
  "service status": async (o) => (await import("./commands/service.ts")).serviceStatus(o as ServiceOptions),
  "config init": async (o) => (await import("./commands/config.ts")).configInit(o as ConfigOptions),
  "config check": async (o) => (await import("./commands/config.ts")).configCheck(o as ConfigOptions),
  "config show": async (o) => (await import("./commands/config.ts")).configShow(o as ConfigOptions),
  completion: async (shell, o, program) => (await import("./commands/completion.ts")).completion(shell as string | undefined, o as CompletionOptions, program as Command),
};

const lazy: Dispatch = (command, ...args) => COMMANDS[command]!(...args);

/** The action of a command that takes its port as an argument too (ccp restart 8082). */
const withPortArgument = (run: Dispatch, command: string) => async (port: string | undefined, opts: { port?: number }) => {
  const { portArg } = await import("./target.ts");
  return run(command, { ...opts, port: portArg(port, opts.port, command) });
};

const portOption = (what = "port of the instance (default: the one running instance, else the config port, else 8082)") => new Option("-p, --port <port>", what).argParser(parsePort);
const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}\n`;

export function buildProgram(run: Dispatch = lazy): Command {
  const program = new Command("ccp")
    .description("A local streaming gateway for Claude Code: lanes, HTTP/1.1 or HTTP/2 upstreams, profiles and a usage log.")
    .version(pkg.version, "-v, --version")
    .enablePositionalOptions()
    .configureHelp({ showGlobalOptions: true });

  program
    .command("start")
    .description("start the proxy (detached unless --foreground) and wait until it is healthy")
    .addOption(new Option("-p, --port <port>", "port to listen on (default: config port, else 8082; 0 with --foreground: a free one)").argParser(parseListenPort))
    .option("--host <address>", "address to listen on (default: config host, else 127.0.0.1); anything but loopback needs a proxy key ($CCP_PROXY_KEY)")
    .option("--profile <name>", "profile overlay to apply (default: $CCP_PROFILE)")
    .option("-c, --config <file>", "config file (default: $CCP_CONFIG, else ~/.config/ccp/config.toml)")
    .option("-f, --foreground", "run in this process and log to stdout (for systemd, launchd, containers)")
    .addHelpText("after", examples("ccp start --port 8082", "ccp start --foreground --profile dev --config ./ccp.toml", "CCP_PROXY_KEY=$(openssl rand -hex 24) ccp start --host 0.0.0.0"))
    .action((opts) => run("start", opts));

  program
    .command("demo")
    .description("try ccp without a provider account: ccp in this terminal with a simulated upstream (lane demo); nothing leaves the machine")
    .addOption(new Option("-p, --port <port>", "port to listen on (default 8082; 0: a free one)").argParser(parseListenPort))
    .addOption(
      new Option("--fault <fault>", "what the simulated upstream does to every other request: none, burst (HTTP 200 + in-stream [1302]) or overload (529)").choices(["none", "burst", "overload"]),
    )
    .option("--state <dir>", "keep the demo's config, usage log and store in this directory (default: a temporary one, removed when it ends)")
    .addHelpText("after", examples("ccp demo", "ccp demo --fault burst", "ccp demo --port 8090 --fault overload --state ./demo-state"))
    .action((opts) => run("demo", opts));

  program
    .command("stop")
    .description("stop the proxy on a port (nothing running is not an error)")
    .argument("[port]", "same as --port (ccp stop 8082)")
    .addOption(portOption())
    .addHelpText("after", examples("ccp stop 8082", "ccp stop --port 8082"))
    .action(withPortArgument(run, "stop"));

  program
    .command("restart")
    .description("stop and start again with the current config and environment; previous start options are kept")
    .argument("[port]", "same as --port (ccp restart 8082)")
    .addOption(portOption())
    .option("--profile <name>", "profile overlay (default: the one the previous start was given)")
    .option("-c, --config <file>", "config file (default: the one the previous start was given)")
    .addHelpText("after", examples("export MITM_FORCE_H1=1; ccp restart 8082", "ccp restart --port 8082 --profile prod"))
    .action(withPortArgument(run, "restart"));

  program
    .command("status")
    .description("is it running: pid, port, profile, uptime, lanes, request and error counts (exit 3 when not running)")
    .addOption(portOption())
    .option("--json", "machine-readable output")
    .addHelpText("after", examples("ccp status", "ccp status --port 8082 --json | jq .lanes"))
    .action((opts) => run("status", opts));

  program
    .command("quota")
    .description("where each plan stands: per lane and credential, each window's use, reset time, status and source; walls and overage (exit 3 when not running)")
    .argument("[port]", "same as --port (ccp quota 8082)")
    .addOption(portOption())
    .option("--json", "the answer of GET /quota as it came")
    .addHelpText("after", examples("ccp quota", "ccp quota 8082 --json | jq '.plans[] | {lane, windows}'"))
    .action(withPortArgument(run, "quota"));

  program
    .command("statusline")
    .description("one line for Claude Code's status line: the lane the session's model goes to, its health, 5-hour and weekly use (always exit 0)")
    .addOption(portOption("port of the instance (default: the one $ANTHROPIC_BASE_URL names, else the one running, else the config port)"))
    .option("--install", "write this command into Claude Code's settings as its statusLine (a backup of the file first)")
    .option("--settings <file>", "with --install: the settings file (default: $CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json)")
    .option("--force", "with --install: replace a statusLine that is already set")
    .addHelpText(
      "after",
      examples("ccp statusline --install", 'echo \'{"model":{"id":"claude-sonnet-4-6"}}\' | ccp statusline', "ccp statusline --install --port 8083 --settings ./.claude/settings.json --force"),
    )
    .action((opts) => run("statusline", opts));

  program
    .command("ok")
    .description("check everything: proxy healthy, config valid, each lane reachable, credentials present (exit 0 only if all pass)")
    .addOption(portOption())
    .option("--profile <name>", "profile to check (default: the running instance's)")
    .option("-c, --config <file>", "config file to check (default: the running instance's)")
    .option("--json", "machine-readable output")
    .addHelpText("after", examples("ccp ok", "ccp ok --port 8082 && claude"))
    .action((opts) => run("ok", opts));

  program
    .command("env")
    .description("print shell lines that point Claude Code at the proxy (and unset HTTPS_PROXY / HTTP_PROXY)")
    .argument("[port]", "same as --port (ccp env 8082)")
    .addOption(portOption())
    .addOption(new Option("--shell <shell>", "syntax to print (default: from $SHELL, else bash)").choices(["bash", "zsh", "fish"]))
    .option("--json", "the variables to set and unset, as JSON")
    .addHelpText("after", examples('eval "$(ccp env 8082)"', "ccp env 8082 --shell fish | source"))
    .action(withPortArgument(run, "env"));

  program
    .command("wrap")
    .description("run a command pointed at the proxy: no shell, stdio, signals and exit code passed through")
    .argument("<command>", "program to run (looked up on PATH)")
    .argument("[args...]", "its arguments, passed unchanged")
    .addOption(portOption())
    .option("--start", "start the proxy first if it is not running (it keeps running afterwards)")
    .passThroughOptions()
    .addHelpText("after", examples('ccp wrap claude -p "ok"', "ccp wrap --port 8083 --start claude"))
    .action((command: string, args: string[], opts) => run("wrap", command, args, opts));

  program
    .command("probe")
    .description("the golden probe: N real completions matched to their usage lines, a table and a verdict (exit 0 only on pass)")
    .addOption(portOption())
    .option("-n, --runs <n>", "completions to run, one after another", parseCount, 10)
    .option("-m, --model <model>", "model: haiku, sonnet, opus (current ids; $ANTHROPIC_DEFAULT_<NAME>_MODEL overrides) or an id", "haiku")
    .option("--also <model>", "run this model alongside each run and check its lane stays healthy")
    .addOption(new Option("--via <how>", "claude: the real `claude -p`; http: a direct Messages request (default: claude if on PATH)").choices(["claude", "http"]))
    .option("--max-p50-ttft-ms <ms>", "pass only if the median time to first token is under this", parseCount, 2000)
    .option("--expect-lane <lane>", "pass only if every run went to this lane")
    .addOption(new Option("--expect-protocol <protocol>", "pass only if every run's answer came over this protocol").choices(["h1", "h2"]))
    .option("--expect-h2 <bool>", "the same as --expect-protocol h2 (true) or h1 (false), kept for scripts", parseBool)
    .option("--prompt <text>", "what to ask", "ok")
    .option("--timeout-ms <ms>", "give up on one completion after this long", parseCount, 120_000)
    .option("--json", "runs and verdict as JSON")
    .addHelpText("after", examples("ccp probe --runs 10 --model haiku --expect-lane zai --expect-protocol h1", "ccp probe --via http --also sonnet --max-p50-ttft-ms 1500 --json"))
    .action((opts) => run("probe", opts));

  program
    .command("route")
    .description("which route a request would take, and the lane: the rule that matches (index, name, conditions) or why none does (exit 1)")
    .requiredOption("-m, --model <model>", "the client's model name (a <lane>/<upstream model> pick too)")
    .option("--subagent", "a subagent's request (Claude Code sends x-claude-code-agent-id)")
    .option("--thinking", "the request enables extended thinking")
    .option("--tokens <n>", "ccp's estimate of its input tokens (for min_input_tokens)", parseWhole)
    .option("--tool <name>", "a tool it offers, by name or server-tool type (repeat for several)", collect)
    .option("-c, --config <file>", "config file (default: $CCP_CONFIG, else ~/.config/ccp/config.toml)")
    .option("--profile <name>", "profile overlay to apply")
    .option("--json", "machine-readable output")
    .addHelpText(
      "after",
      examples("ccp route --model claude-haiku-4-5 --subagent", "ccp route --model claude-opus-4-7 --thinking --tokens 150000 --tool web_search", "ccp route --model zai/glm-4.6 --json"),
    )
    .action((opts) => run("route", opts));

  program
    .command("replay")
    .description("send a captured request again through the running ccp and show then and now side by side: status, protocol, attempts, ttft, stop reason, tokens, answer")
    .argument("<rid>", "the request id of a captured request (capture = all, or errors for failed ones)")
    .addOption(portOption())
    .option("--lane <lane>", "send it to this lane, routes bypassed (default: the lane it first went to)")
    .addOption(new Option("--transport <transport>", "use this transport on that lane (default: the lane's own)").choices(["h1", "h2", "auto"]))
    .option("--api-key-env <var>", "the environment variable holding your key, for a passthrough lane (captures hold no credentials)")
    .option("--json", "then and now as JSON")
    .addHelpText(
      "after",
      examples(
        "ccp replay ccp_mk2x1a9f3c2b0d4e5f",
        "ccp replay ccp_mk2x1a9f3c2b0d4e5f --lane zai --transport h1",
        "ccp replay ccp_mk2x1a9f3c2b0d4e5f --lane anthropic --api-key-env ANTHROPIC_API_KEY --json",
      ),
    )
    .action((rid: string, opts) => run("replay", rid, opts));

  program
    .command("usage")
    .description("recent requests from usage.jsonl as a table; --follow streams new ones")
    .addOption(portOption("instance whose log to read (default: the running one)"))
    .option("--profile <name>", "read this profile's log")
    .option("-c, --config <file>", "config file (for the state directory and profile)")
    .option("-n, --tail <n>", "how many lines (after filtering)", parseCount, 200)
    .option("-f, --follow", "keep printing new lines as they arrive (Ctrl-C stops)")
    .option("--lane <lane>", "only this lane")
    .option("--status <status>", "only this status (502) or class (5xx)")
    .option("--errors", "only requests that failed")
    .option("--since <when>", "only since a duration ago (30m, 1h, 2d) or a date")
    .option("--json", "the raw usage records, one JSON object per line")
    .option(
      "--stats",
      "statistics per group instead of lines: requests, error rate, ttft and duration p50/p95/p99, retries, fallbacks, tokens " +
        "(PostgreSQL when the config names it: the whole fleet; else SQLite when on, else usage.jsonl)",
    )
    .addOption(
      new Option("--by <key>", "statistics (implies --stats) with one row per lane, model, status, protocol, route, client, session or instance")
        .choices(["lane", "model", "status", "protocol", "proto", "route", "client", "session", "instance"])
        .implies({ stats: true }),
    )
    .addHelpText(
      "after",
      examples(
        "ccp usage --tail 20",
        "ccp usage --errors --since 1h",
        "ccp usage --follow --lane zai",
        "ccp usage --json --status 5xx | jq .rid",
        "ccp usage --stats --since 1h --by lane",
        "ccp usage --stats --by client --since 24h",
      ),
    )
    .action((opts) => run("usage", opts));

  const config = program
    .command("config")
    .description("write, validate or show the configuration")
    .addHelpText("after", examples("ccp config init", "ccp config check --config ./ccp.toml", "ccp config show --profile dev"));
  const configFile = (c: Command) => c.option("-c, --config <file>", "config file (default: $CCP_CONFIG, else ~/.config/ccp/config.toml)");
  const configCommon = (c: Command) => configFile(c).option("--profile <name>", "profile overlay to apply");
  configFile(config.command("init").description("write a commented starting config"))
    .option("--force", "overwrite an existing file")
    .addHelpText("after", examples("ccp config init", "ccp config init --config ./ccp.toml"))
    .action((opts) => run("config init", opts));
  configCommon(config.command("check").description("validate a config; exits non-zero naming the key and the reason"))
    .option("--json", "machine-readable output")
    .addHelpText("after", examples("ccp config check", "ccp config check --config ./ccp.toml --profile dev"))
    .action((opts) => run("config check", opts));
  configCommon(config.command("show").description("print the effective config after profile and environment overrides, keys masked"))
    .option("--json", "as JSON")
    .addHelpText("after", examples("ccp config show", "MITM_FORCE_H1=1 ccp config show --profile dev --json"))
    .action((opts) => run("config show", opts));

  program
    .command("completion")
    .description("print the shell completion script for bash, zsh or fish: commands, options, profile names and running instances' ports")
    .addArgument(new Argument("[shell]", "the shell to complete in").choices(["bash", "zsh", "fish"]))
    .addOption(new Option("--words <kind>", "the words of a kind, one a line, as the scripts ask at completion time (ports, profiles)").hideHelp())
    .addOption(new Option("-c, --config <file>", "with --words profiles: the config file").hideHelp())
    .addHelpText(
      "after",
      examples("source <(ccp completion bash)   # in ~/.bashrc", "source <(ccp completion zsh)    # in ~/.zshrc, after compinit", "ccp completion fish > ~/.config/fish/completions/ccp.fish"),
    )
    .action((shell: string | undefined, opts) => run("completion", shell, opts, program));

  serviceCommands(program, run);
  usageErrorsLikeCcp(program);
  return program;
}

/** `ccp service`: a per-user service (systemd on Linux, launchd on macOS) that runs ccp start --foreground. */
function serviceCommands(program: Command, run: Dispatch): void {
  const service = program
    .command("service")
    .description("run ccp as your user's service: started now, at login and after a crash (systemd on Linux, launchd on macOS)")
    .addHelpText("after", examples("ccp service install", "ccp service install --port 8083 --profile dev --config ~/ccp.toml", "ccp service status", "ccp service uninstall"));
  const profile = (c: Command) => c.option("--profile <name>", "the profile's service (default: $CCP_PROFILE, else the default one)");
  profile(service.command("install").description("write the unit (systemd) or agent (launchd) that runs ccp start --foreground, and start it"))
    .addOption(portOption("port it listens on (default: config port, else 8082)"))
    .option("-c, --config <file>", "config file it runs with (default: $CCP_CONFIG, else ~/.config/ccp/config.toml)")
    .option("--force", "replace a service already installed for this profile")
    .addHelpText("after", examples("ccp service install", "ccp service install --port 8083 --profile dev --config ~/ccp.toml --force"))
    .action((opts) => run("service install", opts));
  profile(service.command("uninstall").description("stop the service and remove its unit or agent"))
    .option("--force", "remove a unit or agent of that name that ccp service install did not write")
    .addHelpText("after", examples("ccp service uninstall", "ccp service uninstall --profile dev"))
    .action((opts) => run("service uninstall", opts));
  profile(service.command("status").description("is it installed, enabled and running, and where does it log (exit 3 when not running)"))
    .option("--json", "machine-readable output")
    .addHelpText("after", examples("ccp service status", "ccp service status --profile dev --json"))
    .action((opts) => run("service status", opts));
}

/**
 * Commander's own usage errors (an unknown option, a bad value, a missing argument) read like
 * ccp's: "ccp: …" and a hint line naming the command's --help. The entry point exits 2 on them.
 */
function usageErrorsLikeCcp(c: Command, path = "ccp"): void {
  c.exitOverride()
    .configureOutput({ outputError: (text, write) => write(paint.error(text.replace(/^error: /, ""))) })
    .showHelpAfterError(paint.hint(`${path} --help lists its ${c.commands.length > 0 ? "commands" : "options, with examples"}`));
  for (const sub of c.commands) usageErrorsLikeCcp(sub, `${path} ${sub.name()}`);
}
