import { expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import parsePrometheusTextFormat, { type Family } from "parse-prometheus-text-format";
import { ensureDebianPackage } from "./apt.ts";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface Exposition {
  readonly text: string;
  readonly families: Family[];
}

/** Histogram series straight from the text (the npm parser merges labelled histogram series into one). */
function histogramSeries(text: string, name: string) {
  const series = new Map<string, { labels: Record<string, string>; buckets: [number, number][]; count?: number; sum?: number }>();
  const re = new RegExp(`^${name}_(bucket|sum|count)(?:\\{(.*)\\})? (\\S+)$`, "gm");
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    const le = labels.le;
    delete labels.le;
    const key = JSON.stringify(labels);
    let s = series.get(key);
    if (!s) series.set(key, (s = { labels, buckets: [] }));
    const v = Number(m[3]);
    if (m[1] === "bucket") s.buckets.push([le === "+Inf" ? Infinity : Number(le), v]);
    else if (m[1] === "count") s.count = v;
    else s.sum = v;
  }
  return [...series.values()];
}

/** The official Python client's parser (Debian's python3-prometheus-client), when it can be had. */
function officialParse(text: string): void {
  const py = "/usr/bin/python3";
  const ok = () => existsSync(py) && spawnSync(py, ["-c", "import prometheus_client"]).status === 0;
  if (ensureDebianPackage("python3-prometheus-client", ok)) return;
  const script = "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\nn=sum(len(f.samples) for f in p(sys.stdin.read()))\nprint(n)";
  const r = spawnSync(py, ["-c", script], { input: text, encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(Number(r.stdout.trim())).toBe(text.split("\n").filter((l) => l && !l.startsWith("#")).length);
}

/**
 * Parses an exposition with real parsers (parse-prometheus-text-format from npm; the official
 * Python client's parser too when Debian's package installs), then checks what they are lenient
 * about: one block per family, HELP and TYPE present, names and labels well-formed, numeric
 * values, cumulative histogram buckets ending in +Inf = _count.
 */
export async function parseExposition(text: string): Promise<Exposition> {
  expect(text.endsWith("\n")).toBe(true);
  const families = parsePrometheusTextFormat(text);
  const names = families.map((f) => f.name);
  expect(new Set(names).size).toBe(names.length);
  for (const f of families) {
    expect(f.name).toMatch(NAME);
    expect(f.help.length).toBeGreaterThan(0);
    expect(["COUNTER", "GAUGE", "HISTOGRAM"]).toContain(f.type);
    if (f.type === "COUNTER") expect(f.name).toEndWith("_total");
    if (f.type === "HISTOGRAM") {
      for (const s of histogramSeries(text, f.name)) {
        for (const l of Object.keys(s.labels)) expect(l).toMatch(LABEL);
        expect(s.buckets.at(-1)?.[0]).toBe(Infinity);
        for (const [i, [le, c]] of s.buckets.entries()) {
          if (i === 0) continue;
          expect(le).toBeGreaterThan(s.buckets[i - 1]![0]);
          expect(c).toBeGreaterThanOrEqual(s.buckets[i - 1]![1]);
        }
        expect(s.buckets.at(-1)?.[1]).toBe(s.count!);
        expect(Number.isFinite(s.sum)).toBe(true);
      }
      continue;
    }
    for (const s of f.metrics) {
      for (const l of Object.keys(s.labels ?? {})) expect(l).toMatch(LABEL);
      expect(Number.isFinite(Number(s.value))).toBe(true);
    }
  }
  officialParse(text);
  return { text, families };
}

/** Like PromQL's sum(name{labels}): every series whose labels include `labels`; histograms: their _count. */
export function sample(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const f = e.families.find((x) => x.name === name);
  if (!f) throw new Error(`no metric family ${name}`);
  const match = (l: Record<string, string> | undefined) => Object.entries(labels).every(([k, v]) => l?.[k] === v);
  if (f.type === "HISTOGRAM") return histogramSeries(e.text, name).reduce((n, s) => n + (match(s.labels) ? (s.count ?? 0) : 0), 0);
  return f.metrics.reduce((n, s) => n + (match(s.labels) ? Number(s.value) : 0), 0);
}
