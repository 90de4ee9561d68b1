/**
 * How close ccp's input token estimate (src/routing/token-estimate.ts) comes to a reference count,
 * on request bodies you give it: Messages request JSON files, or ccp capture files (their
 * request.body is read). The reference is ai-tokenizer's (its `claude` encoding with Claude
 * Sonnet 4.5's constants, which its authors validate against the API's own counts), which is not a
 * dependency of ccp: install it for the run, `bun add --no-save ai-tokenizer@1.0.6`.
 *
 *   bun scripts/token-estimate-accuracy.ts body.json ~/.local/state/ccp/captures/ccp_*.json
 *
 * README ("min_input_tokens and ccp's estimate") reports what it printed on Claude Code's requests.
 */
import { readFileSync } from "node:fs";
import { estimateInputTokens } from "../src/routing/token-estimate.ts";

// biome-ignore lint/suspicious/noExplicitAny: request bodies and the reference package are read as they come, untyped
type Json = Record<string, any>;
// A variable specifier: type-checking and the compiled binary never need the package.
const pkg = "ai-tokenizer";
const ai = (await import(pkg).catch(() => undefined)) as Json | undefined;
if (!ai) {
  console.error("install the reference first: bun add --no-save ai-tokenizer@1.0.6");
  process.exit(2);
}
const tok = new ai.Tokenizer(await import(`${pkg}/encoding/claude`));
const cfg = ai.models["anthropic/claude-sonnet-4.5"].tokens as Record<string, number>;
const enc = (s: string): number => tok.encode(s).length;
const scaled = (n: number) => Math.round(n * cfg.contentMultiplier!);

/** ai-tokenizer's walk of a tool's input schema (its countZodSchemaProperties), over JSON Schema. */
function schema(s: Json | undefined): number {
  if (s?.type !== "object" || !s.properties) return 0;
  let n = 0;
  let i = 0;
  for (const [key, p] of Object.entries<Json>(s.properties)) {
    n += enc(key) + (i++ === 0 ? cfg.perFirstProp! : cfg.perAdditionalProp!);
    if (p.description) n += cfg.perPropDesc! + enc(p.description);
    if (Array.isArray(p.enum)) n += cfg.perEnum! + p.enum.reduce((a: number, v: unknown) => a + enc(String(v)), 0);
    if (p.type === "object") n += cfg.perNestedObject! + schema(p);
    else if (p.type === "array" && p.items) n += (p.items.type === "object" ? cfg.perArrayOfObjects! : 0) + schema(p.items);
  }
  return n;
}

function content(c: unknown): number {
  if (typeof c === "string") return scaled(enc(c));
  let n = 0;
  for (const b of Array.isArray(c) ? (c as Json[]) : []) {
    if (b.type === "text") n += scaled(enc(b.text));
    else if (b.type === "tool_use") n += scaled(enc(b.name) + enc(JSON.stringify(b.input)));
    else if (b.type === "tool_result") n += scaled(enc(b.tool_use_id) + (typeof b.content === "string" ? enc(b.content) : enc(JSON.stringify(b.content))));
  }
  return n;
}

/** ai-tokenizer's count() for an Anthropic Messages body. */
function reference(body: Json): number {
  let n = cfg.baseOverhead!;
  const system = typeof body.system === "string" ? body.system : ((body.system ?? []) as Json[]).map((b) => b.text).join("\n");
  if (system) n += cfg.perMessage! + enc("system") + scaled(enc(system));
  for (const m of body.messages ?? []) n += cfg.perMessage! + enc(m.role) + content(m.content);
  const tools = (body.tools ?? []) as Json[];
  if (tools.length) n += cfg.toolsExist!;
  tools.forEach((t, i) => {
    n += enc(t.name ?? "") + (t.description ? cfg.perDesc! + enc(t.description) : 0) + schema(t.input_schema) + (i > 0 ? cfg.perTool! : 0);
  });
  return n;
}

const pct = (a: number, b: number) => `${a >= b ? "+" : ""}${((a / b - 1) * 100).toFixed(1)} %`;
for (const file of process.argv.slice(2)) {
  const v = JSON.parse(readFileSync(file, "utf8")) as Json;
  const body = (typeof v.request?.body === "string" ? JSON.parse(v.request.body) : v) as Json;
  const ref = reference(body);
  const est = estimateInputTokens(body);
  const quarter = Math.ceil(JSON.stringify([body.system ?? "", body.messages ?? [], body.tools ?? []]).length / 4);
  console.log(`${file}: ${JSON.stringify(body).length} bytes; reference ${ref}; ccp ${est} (${pct(est, ref)}); JSON ÷ 4 ${quarter} (${pct(quarter, ref)})`);
}
