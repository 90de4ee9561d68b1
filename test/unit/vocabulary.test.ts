import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { draftRecord } from "../../src/usage/draft.ts";
import { LaneHealth } from "../../src/usage/lane-health.ts";
import { newLiveState } from "../../src/usage/live.ts";
import { MetricsSink } from "../../src/usage/metrics-sink.ts";

/**
 * docs/ARCHITECTURE.md's Vocabulary writes down the metric names and the usage fields once
 * (issue 20); these keep its tables equal to what the code declares. (Its failure-class table:
 * classify.test.ts.)
 */
const doc = readFileSync(join(import.meta.dir, "..", "..", "docs", "ARCHITECTURE.md"), "utf8");
const vocabulary = doc.slice(doc.indexOf("## Vocabulary"), doc.indexOf("\n## ", doc.indexOf("## Vocabulary") + 1));

/** The rows of the table whose header line is `head`, as cells. */
function rows(head: string): string[][] {
  const at = vocabulary.indexOf(`${head}\n`);
  expect(at).toBeGreaterThan(-1);
  const lines = vocabulary
    .slice(at)
    .split("\n\n")[0]!
    .split("\n")
    .slice(2)
    .filter((l) => l.startsWith("| "));
  return lines.map((l) => l.slice(2, -2).split(" | "));
}

test("the metric table is the registry: name, type, labels and help, one row each, in declaration order", () => {
  const specs = new MetricsSink(newLiveState([]), new LaneHealth([])).registry.specs;
  expect(rows("| metric | type | labels | help |")).toEqual(specs.map((s) => [`\`${s.name}\``, s.type, s.labels.length ? s.labels.join(", ") : "—", s.help]));
});

test("the usage-field table has one row per field of a usage line, in the order it is written; types as JSON says them", () => {
  const record = draftRecord("ccp_x", "messages", "default", 8082);
  const table = rows("| field | type | meaning |");
  expect(table.map((r) => r[0])).toEqual(Object.keys(record).map((k) => `\`${k}\``));
  // A field whose draft value is not null has that JSON type (the rest are "<type> or null", known once filled).
  for (const [k, v] of Object.entries(record)) {
    if (v === null) continue;
    const type = Array.isArray(v) ? "array" : typeof v;
    expect([k, table.find((r) => r[0] === `\`${k}\``)![1]!.replace(/ or null$/, "")]).toEqual([k, type]);
  }
});
