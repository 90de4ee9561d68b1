import { expect, test } from "bun:test";

/**
 * docs/ARCHITECTURE.md's request path names server/forward.ts's functions one to one, in the
 * order a request reaches them (issue 20). The rule this test holds:
 *
 * - forward.ts's functions are its top-level declarations: a line that starts with
 *   `function name`, `async function name` (either `export`ed), or `const name = (…) =>`;
 *   in file order. Types, interfaces and other constants are not functions.
 * - The doc's list is the bullets of the section "## One request's path" that open with a
 *   backticked name (`   - \`name\` …`); that first name is the bullet's lead.
 * - The leads that forward.ts declares are exactly its functions, in the same order: none
 *   missing, none extra, none twice.
 * - Any other lead is a step forward.ts calls but another file declares (`replayControl`,
 *   `readAndRoute`, the desk's `steer`): forward.ts must call it (`name(` occurs in it).
 * - The file's order is the call order: the functions `steps` calls appear in its body in the
 *   order the file declares them.
 */
const FORWARD = new URL("../../src/server/forward.ts", import.meta.url);
const DOC = new URL("../../docs/ARCHITECTURE.md", import.meta.url);

const NAME = "[A-Za-z_$][\\w$]*";
const DECLARATION = new RegExp(`^(?:export )?(?:async )?function\\*? (${NAME})|^(?:export )?const (${NAME}) = (?:async )?(?:\\([^)]*\\)|${NAME})(?:: [^=]+)? =>`, "gm");
const literal = (s: string) => s.replace(/\$/g, "\\$");
const calls = (text: string, name: string) => new RegExp(`(?<![\\w$])${literal(name)}\\(`).exec(text)?.index;

/** forward.ts's top-level functions, in file order. */
export function declaredFunctions(source: string): string[] {
  return [...source.matchAll(DECLARATION)].map((m) => (m[1] ?? m[2])!);
}

/** The leads of the request path's bullets, in the doc's order. */
export function requestPathLeads(doc: string): string[] {
  const start = doc.indexOf("## One request's path");
  if (start < 0) return [];
  const end = doc.indexOf("\n## ", start);
  const section = doc.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp(`^[ \\t]+- \`(${NAME})\``, "gm"))].map((m) => m[1]!);
}

/** The text of a top-level function, from its declaration to the first line that is a lone `}`. */
function bodyOf(source: string, name: string): string {
  const at = source.search(new RegExp(`^(?:export )?(?:async )?function ${literal(name)}\\(`, "m"));
  if (at < 0) return "";
  const end = source.indexOf("\n}\n", at);
  return source.slice(at, end < 0 ? undefined : end);
}

/** Where the doc and forward.ts disagree, in words; empty when they agree. */
export function mismatches(source: string, doc: string): string[] {
  const out: string[] = [];
  const functions = declaredFunctions(source);
  const leads = requestPathLeads(doc);
  const own = leads.filter((n) => functions.includes(n));
  if (own.join(" ") !== functions.join(" ")) out.push(`the request path lists ${own.join(", ")}; forward.ts declares ${functions.join(", ")}`);
  for (const n of leads) if (!functions.includes(n) && calls(source, n) === undefined) out.push(`the request path lists \`${n}\`, which forward.ts neither declares nor calls`);
  const steps = bodyOf(source, "steps");
  const reached = functions
    .map((n) => [n, n === "steps" ? undefined : calls(steps, n)] as const)
    .filter((e): e is readonly [string, number] => e[1] !== undefined)
    .sort((a, b) => a[1] - b[1])
    .map(([n]) => n);
  const declaredOrder = functions.filter((n) => reached.includes(n));
  if (reached.join(" ") !== declaredOrder.join(" ")) out.push(`steps calls ${reached.join(", ")}; forward.ts declares them as ${declaredOrder.join(", ")}`);
  return out;
}

test("docs/ARCHITECTURE.md's request path names forward.ts's functions one to one, in call order", async () => {
  const [source, doc] = await Promise.all([Bun.file(FORWARD).text(), Bun.file(DOC).text()]);
  const functions = declaredFunctions(source);
  expect(functions.length).toBeGreaterThan(10);
  expect(functions.slice(0, 2)).toEqual(["forward", "steps"]);
  expect(requestPathLeads(doc).length).toBeGreaterThan(functions.length);
  expect(mismatches(source, doc)).toEqual([]);
});

test("the rule fails on a renamed, a missing, a reordered or an unknown step", () => {
  const source = [
    "export async function forward() {\n  return steps();\n}\n",
    "async function steps() {\n  readAndRoute();\n  a();\n  return b();\n}\n",
    "function a() {\n  return 1;\n}\n",
    "const b = (x: number): number => x;\n",
  ].join("\n");
  const doc = (leads: string[]) => `# A\n\n## One request's path\n\n2. **forward.ts**:\n${leads.map((n) => `   - \`${n}\` does it;`).join("\n")}\n\n## Next\n\n   - \`zzz\` elsewhere\n`;
  expect(mismatches(source, doc(["forward", "steps", "readAndRoute", "a", "b"]))).toEqual([]);
  // Renamed in the code, or missing from the doc.
  expect(mismatches(source.replaceAll("a()", "renamed()"), doc(["forward", "steps", "readAndRoute", "a", "b"]))).toHaveLength(2);
  expect(mismatches(source, doc(["forward", "steps", "readAndRoute", "b"]))).toHaveLength(1);
  // Listed in another order than the file's, or declared in another order than steps calls them.
  expect(mismatches(source, doc(["forward", "steps", "readAndRoute", "b", "a"]))).toHaveLength(1);
  expect(mismatches(source.replace("a();\n  return b();", "b(0);\n  return a();"), doc(["forward", "steps", "readAndRoute", "a", "b"]))).toHaveLength(1);
  // A step forward.ts never calls.
  expect(mismatches(source, doc(["forward", "steps", "readAndRoute", "gone", "a", "b"]))).toEqual(["the request path lists `gone`, which forward.ts neither declares nor calls"]);
});
