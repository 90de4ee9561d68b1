import { type CommandSpec, flatten, type ValueKind } from "./spec.ts";

/**
 * The command table as `case` statements every shell's script is built on: per command path (its
 * names joined by spaces, the root ""), its subcommands, its options, what each option's value
 * is, and what each positional argument is. Shell words here are ccp's own names and choices.
 */

/** A word in single quotes, for sh, bash and zsh. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A value kind as the scripts' value function reads it: `port`, `choices a b`, `rest`... */
export function kindWord(v: ValueKind): string {
  return v.kind === "choices" ? `choices ${v.values.join(" ")}` : v.kind;
}

export interface CaseTables {
  /** path → its subcommands' names */
  readonly commands: readonly (readonly [string, string])[];
  /** path → every spelling of its options */
  readonly options: readonly (readonly [string, string])[];
  /** "path flag" → the kind of value the option takes (switches are absent) */
  readonly optionValues: readonly (readonly [string, string])[];
  /** "path index" → the kind of the positional argument at that index; a rest argument's last index stands for all after it */
  readonly args: readonly (readonly [string, string])[];
  /** path → the index from which the words belong to another program (wrap's) */
  readonly rest: readonly (readonly [string, string])[];
}

export function caseTables(root: CommandSpec): CaseTables {
  const all = flatten(root).map(({ path, spec }) => ({ key: path.join(" "), spec }));
  return {
    commands: all.filter((c) => c.spec.commands.length > 0).map((c) => [c.key, c.spec.commands.map((s) => s.name).join(" ")] as const),
    options: all.filter((c) => c.spec.options.length > 0).map((c) => [c.key, c.spec.options.flatMap((o) => o.flags).join(" ")] as const),
    optionValues: all.flatMap((c) => c.spec.options.flatMap((o) => (o.value ? o.flags.map((f) => [`${c.key} ${f}`.trim(), kindWord(o.value!)] as const) : []))),
    args: all.flatMap((c) => c.spec.args.filter((a) => !a.rest).map((a, i) => [`${c.key} ${i}`.trim(), kindWord(a.value)] as const)),
    rest: all.flatMap((c) => {
      const i = c.spec.args.findIndex((a) => a.rest);
      return i < 0 ? [] : [[c.key, String(i)] as const];
    }),
  };
}

/** path → "name:description" lines of its subcommands, and of its options (each spelling), as zsh's _describe takes them. */
export function describedTables(root: CommandSpec): { readonly commands: readonly (readonly [string, string])[]; readonly options: readonly (readonly [string, string])[] } {
  const all = flatten(root).map(({ path, spec }) => ({ key: path.join(" "), spec }));
  const line = (name: string, description: string) => `${name}:${description.replace(/\s+/g, " ")}`;
  return {
    commands: all.filter((c) => c.spec.commands.length > 0).map((c) => [c.key, c.spec.commands.map((s) => line(s.name, s.description)).join("\n")] as const),
    options: all.filter((c) => c.spec.options.length > 0).map((c) => [c.key, c.spec.options.flatMap((o) => o.flags.map((f) => line(f, o.description))).join("\n")] as const),
  };
}

/** `name() { case $1 in 'key') printf … 'value' ;; … esac; }`, valid in bash and zsh alike (printf, since zsh's echo reads backslashes). */
export function caseFunction(name: string, rows: readonly (readonly [string, string])[], subject = "$1"): string {
  const arms = rows.map(([key, value]) => `    ${shq(key)}) printf '%s\\n' ${shq(value)} ;;`);
  return [`${name}() {`, `  case "${subject}" in`, ...arms, "  esac", "}"].join("\n");
}
