import { describe, expect, test } from "bun:test";
import type { Command } from "commander";
import { buildProgram } from "../../src/cli/program.ts";

/** Parses argv with a recording dispatcher: which command runs, with exactly which arguments. */
async function parse(argv: string[]): Promise<[string, ...unknown[]]> {
  let got: [string, ...unknown[]] | undefined;
  const program = buildProgram(async (command, ...args) => {
    got = [command, ...args];
  });
  const quiet = (c: Command) => {
    c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    c.commands.forEach(quiet);
  };
  quiet(program);
  await program.parseAsync(argv, { from: "user" });
  if (!got) throw new Error("no command ran");
  return got;
}

const CASES: [string, [string, ...unknown[]]][] = [
  ["start", ["start", {}]],
  ["start --port 8082 --profile dev -c ./c.toml -f", ["start", { port: 8082, profile: "dev", config: "./c.toml", foreground: true }]],
  ["start --foreground --port 0", ["start", { foreground: true, port: 0 }]],
  ["demo", ["demo", {}]],
  ["demo --port 0 --fault burst --state ./d", ["demo", { port: 0, fault: "burst", state: "./d" }]],
  ["stop", ["stop", {}]],
  ["stop -p 8083", ["stop", { port: 8083 }]],
  ["stop 8083", ["stop", { port: 8083 }]],
  ["restart 8082", ["restart", { port: 8082 }]],
  ["restart --port 8082 --profile prod", ["restart", { port: 8082, profile: "prod" }]],
  ["restart", ["restart", { port: undefined }]],
  ["status --json", ["status", { json: true }]],
  ["ok --port 9000", ["ok", { port: 9000 }]],
  ["quota", ["quota", { port: undefined }]],
  ["quota 8082 --json", ["quota", { port: 8082, json: true }]],
  ["quota -p 8083", ["quota", { port: 8083 }]],
  ["statusline", ["statusline", {}]],
  ["statusline --port 8083", ["statusline", { port: 8083 }]],
  ["statusline --install --settings ./s.json --force -p 8083", ["statusline", { install: true, settings: "./s.json", force: true, port: 8083 }]],
  ["env 8082", ["env", { port: 8082 }]],
  ["env --port 8082 --shell fish", ["env", { port: 8082, shell: "fish" }]],
  ["wrap claude -p ok", ["wrap", "claude", ["-p", "ok"], {}]],
  ["wrap --port 8083 --start claude --model x -- --port", ["wrap", "claude", ["--model", "x", "--", "--port"], { port: 8083, start: true }]],
  ["probe", ["probe", { runs: 10, model: "haiku", maxP50TtftMs: 2000, prompt: "ok", timeoutMs: 120_000 }]],
  [
    "probe --runs 5 --model sonnet --also haiku --via http --max-p50-ttft-ms 1500 --expect-lane zai --expect-h2 false --json",
    [
      "probe",
      {
        runs: 5,
        model: "sonnet",
        also: "haiku",
        via: "http",
        maxP50TtftMs: 1500,
        expectLane: "zai",
        expectH2: false,
        prompt: "ok",
        timeoutMs: 120_000,
        json: true,
      },
    ],
  ],
  ["usage", ["usage", { tail: 200 }]],
  ["usage --tail 20 --follow --lane zai --status 5xx --errors --since 1h --json", ["usage", { tail: 20, follow: true, lane: "zai", status: "5xx", errors: true, since: "1h", json: true }]],
  ["usage --by lane", ["usage", { tail: 200, by: "lane", stats: true }]],
  ["service install", ["service install", {}]],
  ["service install --port 8083 --profile dev -c ./c.toml --force", ["service install", { port: 8083, profile: "dev", config: "./c.toml", force: true }]],
  ["service uninstall --profile dev", ["service uninstall", { profile: "dev" }]],
  ["service uninstall --force", ["service uninstall", { force: true }]],
  ["service status --json", ["service status", { json: true }]],
  ["usage --by route", ["usage", { tail: 200, by: "route", stats: true }]],
  ["route --model claude-haiku-4-5", ["route", { model: "claude-haiku-4-5" }]],
  ["replay ccp_abc", ["replay", "ccp_abc", {}]],
  ["replay ccp_abc --lane zai --transport h1 -p 8083 --api-key-env MY_KEY --json", ["replay", "ccp_abc", { lane: "zai", transport: "h1", port: 8083, apiKeyEnv: "MY_KEY", json: true }]],
  [
    "route -m claude-opus-4-7 --subagent --thinking --tokens 150000 --tool web_search --tool Bash -c x.toml --profile dev --json",
    ["route", { model: "claude-opus-4-7", subagent: true, thinking: true, tokens: 150_000, tool: ["web_search", "Bash"], config: "x.toml", profile: "dev", json: true }],
  ],
  ["config init --force -c x.toml", ["config init", { force: true, config: "x.toml" }]],
  ["config check --profile dev", ["config check", { profile: "dev" }]],
  ["config show --json", ["config show", { json: true }]],
  // The last argument is the program itself, which the script is generated from.
  ["completion bash", ["completion", "bash", {}, expect.anything()]],
  ["completion --words profiles -c ./c.toml", ["completion", undefined, { words: "profiles", config: "./c.toml" }, expect.anything()]],
];

describe("argv → command and options", () => {
  for (const [argv, expected] of CASES) {
    test(`ccp ${argv}`, async () => {
      expect(await parse(argv.split(" "))).toEqual(expected);
    });
  }

  test("wrap keeps arguments with spaces and quotes as given", async () => {
    expect(await parse(["wrap", "sh", "-c", `echo "a b" 'c'`, "x y"])).toEqual(["wrap", "sh", ["-c", `echo "a b" 'c'`, "x y"], {}]);
  });

  for (const bad of [
    "start --port 70000",
    "status --port 0",
    "quota 0",
    "quota 8082 --port 8083",
    "statusline --port 0",
    "statusline 8082",
    "statusline --settings",
    "stop 0",
    "env --port 0",
    "usage --port 0",
    "probe --runs 0",
    "probe --expect-h2 maybe",
    "probe --via ssh",
    "env --shell tcsh",
    "restart 8082 --port 8083",
    "restart http",
    "stop 8082 --port 8083",
    "config init --profile dev",
    "completion tcsh",
    "completion --words",
  ]) {
    test(`ccp ${bad} is refused`, async () => {
      await expect(parse(bad.split(" "))).rejects.toThrow();
    });
  }

  test("port 0 (a free one) is offered only where it works: start, with --foreground", async () => {
    const message = (argv: string) =>
      parse(argv.split(" ")).then(
        () => "accepted",
        (e: Error) => e.message,
      );
    expect(await message("start --port 70000")).toContain("between 1 and 65535 (or 0 with --foreground: a free one)");
    for (const argv of ["status --port 0", "stop --port 70000", "probe --port x"]) {
      expect(await message(argv)).toEndWith("expected a port number between 1 and 65535");
    }
  });
});

test("the vocabulary's protocol: --expect-protocol and --by protocol; the older --expect-h2 and --by proto still parse", async () => {
  const { buildProgram } = await import("../../src/cli/program.ts");
  const seen: Record<string, unknown>[] = [];
  const program = buildProgram(async (_name, o) => {
    seen.push(o as Record<string, unknown>);
  });
  program.exitOverride();
  await program.parseAsync(["node", "ccp", "probe", "--expect-protocol", "h1"]);
  await program.parseAsync(["node", "ccp", "probe", "--expect-h2", "true"]);
  await program.parseAsync(["node", "ccp", "usage", "--by", "protocol"]);
  await program.parseAsync(["node", "ccp", "usage", "--by", "proto"]);
  expect(seen.map((o) => o.expectProtocol ?? o.expectH2 ?? o.by)).toEqual(["h1", true, "protocol", "proto"]);
});
