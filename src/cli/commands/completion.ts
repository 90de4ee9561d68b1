import type { Command } from "commander";
import pkg from "../../../package.json" with { type: "json" };
import { bashScript } from "../completion/bash.ts";
import { fishScript } from "../completion/fish.ts";
import { commandSpec, type CommandSpec, WORD_KINDS } from "../completion/spec.ts";
import { profileNames, runningPorts } from "../completion/words.ts";
import { zshScript } from "../completion/zsh.ts";
import { ExitError } from "../exit-error.ts";

export interface CompletionOptions {
  /** Hidden: the words of a kind the scripts ask for at completion time (ports, profiles). */
  readonly words?: string;
  /** Hidden: with --words profiles, the config file the command line being completed names. */
  readonly config?: string;
}

const SCRIPTS: Record<string, (root: CommandSpec, version: string) => string> = { bash: bashScript, zsh: zshScript, fish: fishScript };
export const SHELLS = Object.keys(SCRIPTS);

/** `ccp completion <shell>`: the script, generated from the program it is given (the one that parsed this command line). */
export async function completion(shell: string | undefined, opts: CompletionOptions, program: Command): Promise<void> {
  if (opts.words !== undefined) return printWords(opts.words, opts.config);
  if (shell === undefined) throw new ExitError(2, "which shell? completion is for bash, zsh or fish", "e.g. source <(ccp completion bash) in ~/.bashrc");
  const render = SCRIPTS[shell];
  if (!render) throw new ExitError(2, `no completion script for the shell "${shell}"`, `give one of ${SHELLS.join(", ")} (ccp completion --help says how to enable each)`);
  process.stdout.write(render(commandSpec(program), pkg.version));
}

async function printWords(kind: string, config: string | undefined): Promise<void> {
  const words = kind === "ports" ? (await runningPorts()).map(String) : kind === "profiles" ? profileNames(config) : undefined;
  if (!words) throw new ExitError(2, `--words takes ${WORD_KINDS.join(" or ")}, not "${kind}"`);
  if (words.length) console.log(words.join("\n"));
}
