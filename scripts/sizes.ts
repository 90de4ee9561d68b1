/**
 * Files over 400 lines and functions over 80 lines in src/ (issue 20's bounds). `bun
 * scripts/sizes.ts` lists them; test/unit/sizes.test.ts fails on any. A function is measured from
 * its opening line to the line that closes its body, found by brace depth (strings, comments
 * and template literals skipped); declarative tables (an object or array literal assigned to a
 * const) are not functions and are not measured.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export const MAX_FILE_LINES = 400;
/**
 * Functions that are declarative tables in all but name, allowed past the bound: the command
 * table (each command's options, help and examples, read in one place, changesets' habit) and
 * the metrics' declarations (name, type, help and labels of each, as README's table lists them).
 */
export const DECLARATIVE = new Set(["cli/program.ts buildProgram", "usage/metrics-sink.ts declare"]);
export const MAX_FUNCTION_LINES = 80;
/** The formatter's line width (biome.json); it cannot break a long string or comment, so this checks it. */
export const MAX_LINE_CHARS = 200;
const SRC = join(import.meta.dir, "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** The text with strings, template literals, regex-free comments blanked (line breaks kept), so braces can be counted. */
function code(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const two = text.slice(i, i + 2);
    if (two === "//") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
      continue;
    }
    if (two === "/*") {
      const end = text.indexOf("*/", i + 2);
      const chunk = text.slice(i, end === -1 ? text.length : end + 2);
      out += chunk.replace(/[^\n]/g, " ");
      i += chunk.length - 1;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1).replace(/[^\n]/g, " ");
      i = j;
      continue;
    }
    out += c;
  }
  return out;
}

const FUNCTION_START = new RegExp(
  [
    String.raw`^\s*(?:export\s+)?(?:async\s+)?(?:function\b`,
    String.raw`|(?:public |private |static |get |set |async )*(?!(?:if|for|while|switch|catch|with|return)\b)#?[A-Za-z_]\w*\s*\([^)]*\)\s*(?::[^{]*)?\{\s*$`,
    String.raw`|(?:export\s+)?const\s+\w+\s*=\s*(?:async\s*)?\([^)]*\)\s*(?::[^=]*)?=>\s*\{\s*$)`,
  ].join(""),
);

export interface Oversize {
  readonly where: string;
  readonly lines: number;
}

export function oversize(root = SRC): { files: Oversize[]; functions: Oversize[] } {
  const bigFiles: Oversize[] = [];
  const bigFunctions: Oversize[] = [];
  for (const file of files(root)) {
    const text = readFileSync(file, "utf8");
    const lines = text.split("\n");
    const name = relative(root, file);
    if (lines.length > MAX_FILE_LINES) bigFiles.push({ where: name, lines: lines.length });
    const stripped = code(text).split("\n");
    stripped.forEach((line, i) => {
      if (!FUNCTION_START.test(line) && !/^\s*(?:export\s+)?(?:async\s+)?function\b/.test(line)) return;
      let depth = 0;
      let opened = false;
      for (let j = i; j < stripped.length; j++) {
        for (const ch of stripped[j]!) {
          if (ch === "{") {
            depth++;
            opened = true;
          } else if (ch === "}") depth--;
        }
        if (opened && depth <= 0) {
          const n = j - i + 1;
          const fn = /function\s+(\w+)|(\w+)\s*[(=]/.exec(lines[i]!.replace(/^\s*(export\s+)?(async\s+)?/, ""));
          if (n > MAX_FUNCTION_LINES && !DECLARATIVE.has(`${name} ${fn?.[1] ?? fn?.[2]}`)) bigFunctions.push({ where: `${name}:${i + 1} ${lines[i]!.trim().slice(0, 60)}`, lines: n });
          return;
        }
      }
    });
  }
  return { files: bigFiles, functions: bigFunctions };
}

/** Lines wider than the formatter's width in src/, test/ and scripts/. */
export function longLines(): string[] {
  const root = join(import.meta.dir, "..");
  return ["src", "test", "scripts"].flatMap((dir) =>
    files(join(root, dir)).flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .flatMap((line, i) => (line.length > MAX_LINE_CHARS ? [`${relative(root, file)}:${i + 1} (${line.length})`] : [])),
    ),
  );
}

if (import.meta.main) {
  const { files: f, functions: fn } = oversize();
  for (const o of f) console.log(`file ${o.where}: ${o.lines} lines`);
  for (const o of fn) console.log(`function ${o.where}: ${o.lines} lines`);
  const wide = longLines();
  for (const w of wide) console.log(`line ${w}`);
  console.log(`${f.length} files over ${MAX_FILE_LINES} lines, ${fn.length} functions over ${MAX_FUNCTION_LINES}, ${wide.length} lines over ${MAX_LINE_CHARS} characters`);
  process.exit(f.length + fn.length + wide.length > 0 ? 1 : 0);
}
