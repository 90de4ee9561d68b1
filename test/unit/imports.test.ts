import { expect, test } from "bun:test";
import { cycles, importGraph, layerBreaches, reach } from "../../scripts/imports.ts";

/** The layout issue 20 asks for: no import cycle in src/, and nothing below server/ or cli/ importing from them. */
const graph = importGraph();

test("src/ has no import cycle", () => {
  expect(graph.size).toBeGreaterThan(50);
  expect(cycles(graph)).toEqual([]);
});

test("no folder below server/ imports from server/ or cli/", () => {
  expect(layerBreaches(graph)).toEqual([]);
});

test("`ccp usage` (and --stats) loads nothing of the server: usage*.ts and usage-source.ts reach no file under server/", () => {
  const starts = [...graph.keys()].filter((f) => /^cli\/(commands\/usage[^/]*|usage-source)\.ts$/.test(f)).sort();
  expect(starts).toEqual(["cli/commands/usage-stats.ts", "cli/commands/usage.ts", "cli/usage-source.ts"]);
  for (const start of starts) expect([start, [...reach(graph, start)].filter((f) => f.startsWith("server/"))]).toEqual([start, []]);
});

test("the checker finds a cycle and a breach when there is one", () => {
  const bad = new Map([
    ["a/x.ts", ["a/y.ts"]],
    ["a/y.ts", ["a/x.ts"]],
    ["usage/z.ts", ["server/app.ts"]],
    ["server/app.ts", []],
  ]);
  expect(cycles(bad)).toEqual([["a/x.ts", "a/y.ts"]]);
  expect(layerBreaches(bad)).toEqual(["usage/z.ts → server/app.ts"]);
  expect([...reach(bad, "usage/z.ts")].sort()).toEqual(["server/app.ts", "usage/z.ts"]);
});
