import type { Argument, Command, Option } from "commander";

/**
 * The command table as completion sees it, read from the commander program itself (its visible
 * commands, options and arguments, through commander's Help), so a new command or option
 * completes without any change here. Pure: the shell scripts are rendered from this.
 */

/** What a value completes to: running instances' ports, the config's profiles, files, commands on PATH, fixed choices, or nothing known. */
export type ValueKind =
  | { readonly kind: "port" }
  | { readonly kind: "profile" }
  | { readonly kind: "file" }
  | { readonly kind: "command" }
  | { readonly kind: "choices"; readonly values: readonly string[] }
  | { readonly kind: "any" };

export interface OptionSpec {
  /** Every spelling: ["-p", "--port"]. */
  readonly flags: readonly string[];
  readonly description: string;
  /** undefined: a switch that takes no value. */
  readonly value?: ValueKind;
}

export interface ArgSpec {
  readonly name: string;
  /** The last argument takes every word left (`wrap claude …`): from there on the words are another program's. */
  readonly rest: boolean;
  readonly value: ValueKind;
}

export interface CommandSpec {
  readonly name: string;
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly args: readonly ArgSpec[];
  readonly commands: readonly CommandSpec[];
}

/** The words completed for the dynamic kinds, by `ccp completion --words <kind>` at completion time. */
export const WORD_KINDS = ["ports", "profiles"] as const;
export type WordKind = (typeof WORD_KINDS)[number];

/** A value's kind from what the command table says of it: its choices, else its name (and its command's). */
export function valueKind(name: string, choices: readonly string[] | undefined, command = ""): ValueKind {
  if (choices?.length) return { kind: "choices", values: choices };
  // start listens on a free port: the running instances' are the ones it cannot take.
  if (name === "port") return command === "start" ? { kind: "any" } : { kind: "port" };
  if (name === "profile") return { kind: "profile" };
  if (name === "config" || name === "settings" || name === "file") return { kind: "file" };
  if (name === "command") return { kind: "command" };
  return { kind: "any" };
}

function optionSpec(o: Option, command: string): OptionSpec {
  const flags = [o.short, o.long].filter((f): f is string => f !== undefined);
  const takesValue = o.required || o.optional;
  return { flags, description: o.description, ...(takesValue ? { value: valueKind(o.attributeName(), o.argChoices, command) } : {}) };
}

function argSpec(a: Argument): ArgSpec {
  return { name: a.name(), rest: a.variadic, value: a.variadic ? { kind: "file" } : valueKind(a.name(), a.argChoices) };
}

export function commandSpec(cmd: Command): CommandSpec {
  const help = cmd.createHelp();
  return {
    name: cmd.name(),
    description: cmd.description(),
    options: help.visibleOptions(cmd).map((o) => optionSpec(o, cmd.name())),
    args: cmd.registeredArguments.map(argSpec),
    commands: help.visibleCommands(cmd).map((c) => (c.name() === "help" ? helpSpec(cmd, c) : commandSpec(c))),
  };
}

/** commander's own `help [command]`: its argument is one of the commands. */
function helpSpec(parent: Command, c: Command): CommandSpec {
  const names = parent.commands.filter((x) => x.name() !== "help").map((x) => x.name());
  return { name: "help", description: c.description(), options: [], args: [{ name: "command", rest: false, value: { kind: "choices", values: names } }], commands: [] };
}

/** Every command with its path of names from the root (the root's path is []), parents first. */
export function flatten(spec: CommandSpec, path: readonly string[] = []): { readonly path: readonly string[]; readonly spec: CommandSpec }[] {
  return [{ path, spec }, ...spec.commands.flatMap((c) => flatten(c, [...path, c.name]))];
}
