/** A small TOML writer for plain data (ccp config show): every non-empty table becomes a section. */
type Table = Record<string, unknown>;

const isTable = (v: unknown): v is Table => typeof v === "object" && v !== null && !Array.isArray(v);
const isSection = (v: unknown): v is Table => isTable(v) && Object.keys(v).length > 0;
const isTableArray = (v: unknown): v is Table[] => Array.isArray(v) && v.length > 0 && v.every(isTable);
const bareKey = (k: string) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));

function scalar(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(scalar).join(", ")}]`;
  if (isTable(v)) {
    const inner = Object.entries(v).map(([k, x]) => `${bareKey(k)} = ${scalar(x)}`);
    return inner.length ? `{ ${inner.join(", ")} }` : "{}";
  }
  return JSON.stringify(String(v));
}

/** header: "[a.b]" or "[[a.b]]" for the table's own key = value lines, written only when it has some. */
function section(table: Table, path: readonly string[], header: string | undefined, out: string[]): void {
  const entries = Object.entries(table).filter(([, v]) => v !== undefined && v !== null);
  const plain = entries.filter(([, v]) => !isSection(v) && !isTableArray(v));
  if (header !== undefined && (plain.length > 0 || header.startsWith("[["))) out.push("", header);
  for (const [k, v] of plain) out.push(`${bareKey(k)} = ${scalar(v)}`);
  for (const [k, v] of entries) {
    const p = [...path, bareKey(k)];
    if (isSection(v)) section(v, p, `[${p.join(".")}]`, out);
    else if (isTableArray(v)) for (const item of v) section(item, p, `[[${p.join(".")}]]`, out);
  }
}

export function toToml(data: Table): string {
  const out: string[] = [];
  section(data, [], undefined, out);
  return `${out.join("\n").trim()}\n`;
}
