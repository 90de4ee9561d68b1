/**
 * The import graph of src/: cycles, and imports that go against the layers (a lower folder
 * importing from server/ or cli/). `bun scripts/imports.ts` prints them; the unit test
 * test/unit/imports.test.ts fails on any.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = join(import.meta.dir, "..", "src");

/** Folders that may import from server/ (only cli/, which starts servers and asks them). */
const MAY_IMPORT_SERVER = new Set(["cli", "server"]);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Each file's imports of other files in src/, type-only imports included (they shape the layers too). */
export function importGraph(root = SRC): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files(root)) {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms)].map((m) => relative(root, resolve(dirname(file), m[1]!)));
    graph.set(relative(root, file), targets);
  }
  return graph;
}

/** Strongly connected components of more than one file (or a file importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        on.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Imports of server/ or cli/ from a folder below them. */
export function layerBreaches(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const folder = from.split("/")[0]!;
    for (const to of targets) {
      const top = to.split("/")[0]!;
      if ((top === "server" && !MAY_IMPORT_SERVER.has(folder)) || (top === "cli" && folder !== "cli")) out.push(`${from} → ${to}`);
    }
  }
  return out;
}

/** Every file `start` loads, itself included, following imports (type-only ones too) through the graph. */
export function reach(graph: Map<string, string[]>, start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...(graph.get(f) ?? []));
  }
  return seen;
}

if (import.meta.main) {
  const graph = importGraph();
  const found = cycles(graph);
  const breaches = layerBreaches(graph);
  for (const c of found) console.log(`cycle: ${c.join(" ↔ ")}`);
  for (const b of breaches) console.log(`layer: ${b}`);
  console.log(`${graph.size} files, ${found.length} cycles, ${breaches.length} layer breaches`);
  process.exit(found.length + breaches.length > 0 ? 1 : 0);
}
