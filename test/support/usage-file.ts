import { existsSync, readFileSync } from "node:fs";

/**
 * The complete lines of a usage log, parsed. A reader can catch the proxy mid-append, so a
 * trailing line without its newline is left for the next read rather than parsed.
 */
export function readUsageLines<T = Record<string, unknown>>(file: string): T[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  return text
    .slice(0, text.lastIndexOf("\n") + 1)
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}
