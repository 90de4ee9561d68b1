import chalk, { Chalk, type ChalkInstance } from "chalk";
import { readEnv } from "../config/env.ts";

const noColor = readEnv().noColor;

/** Colour only on a TTY, and never with NO_COLOR set. Decided per stream. */
const chalkFor = (tty: boolean | undefined): ChalkInstance => (tty && !noColor ? chalk : new Chalk({ level: 0 }));
const e = chalkFor(process.stderr.isTTY);
const o = chalkFor(process.stdout.isTTY);

/**
 * Messages on stderr. An error is `ccp: …` (the command failed); a warning is `warning: …`
 * (the command goes on), so neither a reader nor a script takes one for the other.
 */
export const paint = {
  error: (s: string) => e.red(`ccp: ${s}`),
  warn: (s: string) => e.yellow(`warning: ${s}`),
  hint: (s: string) => e.dim(`hint: ${s}`),
  ok: (s: string) => o.green(s),
  bold: (s: string) => o.bold(s),
};

/**
 * Colours for Claude Code's status line: on unless NO_COLOR is set, whatever the stream, since
 * Claude Code reads the line from a pipe and shows its ANSI colours.
 */
export function statusLinePaint(): { ok(s: string): string; warn(s: string): string; bad(s: string): string; dim(s: string): string } {
  const c = new Chalk({ level: noColor ? 0 : 1 });
  return { ok: (s) => c.green(s), warn: (s) => c.yellow(s), bad: (s) => c.red(s), dim: (s) => c.dim(s) };
}

/** Cells and lines on stdout. */
export const out = {
  ok: (s: string) => o.green(s),
  bad: (s: string) => o.red(s),
  warn: (s: string) => o.yellow(s),
  dim: (s: string) => o.dim(s),
  bold: (s: string) => o.bold(s),
  /** 2xx green, 4xx yellow, 5xx red. */
  status: (status: number | null | undefined) => {
    const s = status === null || status === undefined ? "-" : String(status);
    if (!status) return s;
    return status < 400 ? o.green(s) : status < 500 ? o.yellow(s) : o.red(s);
  },
  /** A pass / fail mark at the start of a check line. */
  check: (pass: boolean) => (pass ? o.green("ok  ") : o.red("FAIL")),
};

/** A spinner on stderr, only when stderr is a terminal with a width. */
export function spinner(text: string): { stop(): void } {
  // No terminal, or one that reports no width (a pty without a size): ora would redraw without end.
  if (!process.stderr.isTTY || !process.stderr.columns) return { stop() {} };
  // Loaded on first use, not at start-up: a server process never draws a spinner, and ora's
  // dependencies cost it megabytes of memory.
  const { default: ora } = require("ora") as typeof import("ora");
  const s = ora({ text, stream: process.stderr }).start();
  return { stop: () => s.stop() };
}

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Plain-text table; widths ignore colour codes. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => strip(r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - strip(c).length)))
      .join("  ")
      .trimEnd();
  return [line(header.map((h) => o.bold(h))), ...rows.map(line)].join("\n");
}

/**
 * One line of a table whose column widths are fixed in advance, so rows printed as they arrive
 * line up with a header printed long before (`ccp usage --follow`). A cell longer than its
 * column is cut to fit, ending in "…" (and loses its colour); the last column is never cut.
 */
export function fixedRow(cells: readonly string[], widths: readonly number[]): string {
  const fit = (c: string, w: number) => {
    const plain = strip(c);
    return plain.length > w ? `${plain.slice(0, w - 1)}…` : c + " ".repeat(w - plain.length);
  };
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : fit(c, widths[i] ?? 0)))
    .join("  ")
    .trimEnd();
}
