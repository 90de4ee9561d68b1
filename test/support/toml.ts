/** A tiny TOML writer for test configs: scalars, arrays of scalars, inline tables, nested tables. */
type Value = string | number | boolean | readonly Value[] | { readonly [k: string]: Value };

const key = (k: string) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));
const isTable = (v: Value): v is { readonly [k: string]: Value } => typeof v === "object" && !Array.isArray(v);

function inline(v: Value): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(inline).join(", ")}]`;
  return `{ ${Object.entries(v as Record<string, Value>)
    .map(([k, x]) => `${JSON.stringify(k)} = ${inline(x)}`)
    .join(", ")} }`;
}

/** Top-level scalars first, then `[section]` tables; `routes` becomes [[routes]]. */
export function toToml(doc: Record<string, Value>, prefix = ""): string {
  let out = "";
  const tables: [string, Value][] = [];
  for (const [k, v] of Object.entries(doc)) {
    if (isTable(v) && prefix.split(".").length < 3) tables.push([k, v]);
    else if (k === "routes" && Array.isArray(v)) tables.push([k, v]);
    else out += `${key(k)} = ${inline(v)}\n`;
  }
  for (const [k, v] of tables) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (Array.isArray(v)) for (const r of v) out += `\n[[${name}]]\n${toToml(r as Record<string, Value>, "~")}`;
    else if (name === "lanes") out += toToml(v as Record<string, Value>, name);
    else out += `\n[${name}]\n${toToml(v as Record<string, Value>, name)}`;
  }
  return out;
}
