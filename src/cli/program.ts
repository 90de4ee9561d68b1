import { Command, InvalidArgumentError, Option } from "commander";
import pkg from "../../package.json" with { type: "json" };

/**
 * The command table: every subcommand, flag and example in one place.
 * Each action lazy-imports its module, so start-up stays fast.
 */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("expected a port number between 1 and 65535 (0 picks a free one)");
  return n;
}

export function buildProgram(): Command {
  const program = new Command("ccp")
    .description("A local streaming gateway for Claude Code: lanes, HTTP/1.1 or HTTP/2 upstreams, profiles and a usage log.")
    .version(pkg.version, "-v, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ showGlobalOptions: true });

  program
    .command("start")
    .description("start the proxy (detached unless --foreground) and wait until it is healthy")
    .addOption(new Option("-p, --port <port>", "port to listen on (default: config port, else 8082)").argParser(parsePort))
    .option("--profile <name>", "profile overlay to apply (default: $CCP_PROFILE)")
    .option("-c, --config <file>", "config file (default: $CCP_CONFIG, else ~/.config/ccp/config.toml)")
    .option("-f, --foreground", "run in this process and log to stdout (for systemd, launchd, containers)")
    .addHelpText("after", "\nExamples:\n  ccp start --port 8082\n  ccp start --foreground --profile dev --config ./ccp.toml\n")
    .action(async (opts) => (await import("./commands/start.ts")).start(opts));

  return program;
}
