/**
 * Claude Code's user settings (settings.json) with ccp's status line put in: every other key
 * kept as it was, in its place, the whole rewritten as JSON with a 2-space indent. Pure: the
 * file's text in, what to do out (commands/statusline-install.ts reads and writes the file).
 */

/** The statusLine setting that runs `command` (CLAUDE-CODE-GATEWAY.md §5). */
export interface StatusLineSetting {
  readonly type: "command";
  readonly command: string;
  readonly padding: number;
}

export const statusLineSetting = (command: string): StatusLineSetting => ({ type: "command", command, padding: 0 });

export type SettingsMerge =
  /** The new text to write; `replaced`: the statusLine it replaces (undefined: none). */
  | { readonly kind: "write"; readonly text: string; readonly replaced: unknown }
  /** The setting is there already: the same command (with whatever refreshInterval or padding the user gave it). */
  | { readonly kind: "same" }
  /** Another statusLine is set and --force was not given: what is there. */
  | { readonly kind: "other"; readonly existing: unknown }
  /** The file is not a JSON object: never overwritten. */
  | { readonly kind: "unreadable"; readonly reason: string };

/**
 * Puts `setting` into the settings text (undefined: no file yet; blank: an empty file, read as
 * `{}`). A different statusLine is replaced only with `force`; `replaced` is what it was.
 */
export function mergeStatusLine(text: string | undefined, setting: StatusLineSetting, force: boolean): SettingsMerge {
  let settings: unknown = {};
  if (text !== undefined && text.trim() !== "") {
    try {
      settings = JSON.parse(text);
    } catch (e) {
      return { kind: "unreadable", reason: `not valid JSON (${(e as Error).message})` };
    }
  }
  if (typeof settings !== "object" || settings === null || Array.isArray(settings)) return { kind: "unreadable", reason: "not a JSON object" };
  const current = (settings as Record<string, unknown>).statusLine;
  if (current !== undefined && sameCommand(current, setting)) return { kind: "same" };
  if (current !== undefined && !force) return { kind: "other", existing: current };
  const lossy = text === undefined ? undefined : lossyNumber(text);
  if (lossy !== undefined) return { kind: "unreadable", reason: `holding the number ${lossy.slice(0, 40)}, which rewriting the file would change` };
  // Assigning an existing key keeps its place; a new key goes last.
  const merged = { ...(settings as Record<string, unknown>), statusLine: setting };
  return { kind: "write", text: `${JSON.stringify(merged, null, 2)}\n`, replaced: current };
}

/**
 * The first number in the JSON text that JSON.parse and JSON.stringify would not give back as
 * written: beyond a double's range (1e400 becomes null), an integer past 2^53, or more digits
 * than a double holds. Strings are skipped whole.
 */
export function lossyNumber(text: string): string | undefined {
  for (const m of text.matchAll(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g)) {
    const lit = m[0];
    if (lit.startsWith('"')) continue;
    const n = Number(lit);
    const digits = lit
      .replace(/[eE].*$/, "")
      .replace(/[-.]/g, "")
      .replace(/^0+/, "");
    if (!Number.isFinite(n) || (/^-?\d+$/.test(lit) && !Number.isSafeInteger(n)) || digits.length > 17) return lit;
  }
  return undefined;
}

/**
 * The setting runs the same command: the user's own touches (a `refreshInterval`, another
 * `padding`) leave it ccp's, and running --install again keeps them.
 */
function sameCommand(current: unknown, setting: StatusLineSetting): boolean {
  if (typeof current !== "object" || current === null || Array.isArray(current)) return false;
  const c = current as Record<string, unknown>;
  return c.type === setting.type && c.command === setting.command;
}

/** A POSIX shell word: as it is when it is plain, else single-quoted (Claude Code runs the command through a shell). */
export const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);
