import { expect, test } from "bun:test";
import { cycles, importGraph, layerBreaches } from "../../scripts/imports.ts";

/** The layout issue 20 asks for: no import cycle in src/, and nothing below server/ or cli/ importing from them. */
const graph = importGraph();

test("src/ has no import cycle", () => {
  expect(graph.size).toBeGreaterThan(50);
  expect(cycles(graph)).toEqual([]);
});

test("no folder below server/ imports from server/ or cli/", () => {
  expect(layerBreaches(graph)).toEqual([]);
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
});
