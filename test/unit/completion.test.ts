import { expect, test } from "bun:test";
import type { Command } from "commander";
import { bashScript } from "../../src/cli/completion/bash.ts";
import { fishScript } from "../../src/cli/completion/fish.ts";
import { commandSpec, flatten, valueKind } from "../../src/cli/completion/spec.ts";
import { caseTables } from "../../src/cli/completion/tables.ts";
import { zshScript } from "../../src/cli/completion/zsh.ts";
import { buildProgram } from "../../src/cli/program.ts";

/** The completion scripts are generated from the command table: what the program has, they complete. */
const noop = async () => {};
const sub = (c: Command, name: string) => c.commands.find((x) => x.name() === name)!;

test("every command and every visible option of the program is in the spec, hidden ones are not", () => {
  const program = buildProgram(noop);
  const spec = flatten(commandSpec(program));
  const walk = (c: Command, path: string[]): string[] => [...c.options.filter((o) => !o.hidden).map((o) => `${path.join(" ")} ${o.long}`), ...c.commands.flatMap((s) => walk(s, [...path, s.name()]))];
  const inSpec = new Set(spec.flatMap(({ path, spec: s }) => s.options.flatMap((o) => o.flags.map((f) => `${path.join(" ")} ${f}`))));
  for (const want of walk(program, [])) expect(inSpec.has(want)).toBe(true);
  expect([...inSpec].filter((f) => f.includes("--words"))).toEqual([]);
  expect(spec.map((c) => c.path.join(" "))).toContain("config show");
});

test("an option or command added to the program completes in every shell, with no script edited", () => {
  const program = buildProgram(noop);
  sub(program, "status").option("--brand-new-switch", "a switch added later");
  sub(program, "config").command("frobnicate").description("a subcommand added later").option("--shell-kind <shell>", "a value with choices");
  sub(sub(program, "config"), "frobnicate").options.at(-1)!.choices(["left", "right"]);
  const spec = commandSpec(program);
  const t = caseTables(spec);
  expect(t.options.find(([path]) => path === "status")?.[1]).toContain("--brand-new-switch");
  expect(t.commands.find(([path]) => path === "config")?.[1]).toContain("frobnicate");
  expect(t.optionValues).toContainEqual(["config frobnicate --shell-kind", "choices left right"]);
  const bash = bashScript(spec, "1.0.0");
  const zsh = zshScript(spec, "1.0.0");
  expect(bash).toContain("'status') printf '%s\\n' '-p --port --json --brand-new-switch -h --help'");
  expect(zsh).toContain("\n--brand-new-switch:a switch added later\n");
  expect(zsh).toContain("\nfrobnicate:a subcommand added later\n");
  for (const script of [bash, zsh]) expect(script).toContain("'config frobnicate --shell-kind') printf '%s\\n' 'choices left right'");
  const fish = fishScript(spec, "1.0.0");
  expect(fish).toContain("complete -c ccp -n '__fish_seen_subcommand_from status' -l brand-new-switch -d 'a switch added later'");
  expect(fish).toContain("complete -c ccp -n '__fish_seen_subcommand_from config; and __fish_seen_subcommand_from frobnicate' -l shell-kind -x -a 'left right' -d 'a value with choices'");
});

test("what a value completes to, from its choices or its name", () => {
  expect(valueKind("shell", ["bash", "zsh"])).toEqual({ kind: "choices", values: ["bash", "zsh"] });
  expect(valueKind("port", undefined, "stop")).toEqual({ kind: "port" });
  // start's port must be free: the running instances' ports are the wrong answer there.
  expect(valueKind("port", undefined, "start")).toEqual({ kind: "any" });
  expect(valueKind("profile", undefined)).toEqual({ kind: "profile" });
  expect(valueKind("config", undefined)).toEqual({ kind: "file" });
  expect(valueKind("settings", undefined)).toEqual({ kind: "file" });
  expect(valueKind("command", undefined)).toEqual({ kind: "command" });
  expect(valueKind("since", undefined)).toEqual({ kind: "any" });
});

test("wrap's last argument is the wrapped program's: its words are not ccp's to complete", () => {
  const t = caseTables(commandSpec(buildProgram(noop)));
  expect(t.rest).toEqual([["wrap", "1"]]);
  expect(t.args).toContainEqual(["wrap 0", "command"]);
  expect(t.args).toContainEqual(["stop 0", "port"]);
});

test("quotes in descriptions stay inside their words", () => {
  const program = buildProgram(noop);
  sub(program, "status").option("--odd", 'it\'s "quoted" and \\ slashed');
  const spec = commandSpec(program);
  expect(fishScript(spec, "1")).toContain(`-l odd -d 'it\\'s "quoted" and \\\\ slashed'`);
  expect(zshScript(spec, "1")).toContain(`--odd:it'\\''s "quoted" and \\ slashed`);
});
