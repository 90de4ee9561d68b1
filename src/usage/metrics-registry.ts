/**
 * A small Prometheus registry: each metric is declared once (name, type, help, label
 * names) and rendered in the text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */
export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricSpec<L extends string> {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly L[];
  /** Histograms: upper bounds, ascending (the +Inf bucket is implicit). */
  readonly buckets?: readonly number[];
}

type Labels<L extends string> = Readonly<Record<L, string>>;

interface Series {
  readonly labels: readonly string[];
  value: number;
  /** Histograms: cumulative is computed at render time; these are per-bucket counts. */
  counts?: number[];
  sum?: number;
}

/** Label values escaped as the format asks: backslash, double quote and newline. */
const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const formatValue = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN");

export class Metric<L extends string> {
  readonly #series = new Map<string, Series>();
  /** Gauges computed at scrape time (live state) replace stored series. */
  #collect: (() => Iterable<readonly [Labels<L>, number]>) | undefined;

  constructor(readonly spec: MetricSpec<L>) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(spec.name)) throw new Error(`bad metric name ${spec.name}`);
    if (spec.type === "counter" && !spec.name.endsWith("_total")) throw new Error(`counter ${spec.name} must end in _total`);
  }

  #get(labels: Labels<L>): Series {
    // Called several times per request: the key is built without intermediate arrays.
    const names = this.spec.labels;
    let key = "";
    for (let i = 0; i < names.length; i++) key += i === 0 ? labels[names[i]!] : `\u0000${labels[names[i]!]}`;
    let s = this.#series.get(key);
    if (!s) {
      s = { labels: names.map((l) => labels[l]), value: 0 };
      if (this.spec.type === "histogram") {
        s.counts = new Array<number>(this.spec.buckets!.length).fill(0);
        s.sum = 0;
      }
      this.#series.set(key, s);
    }
    return s;
  }

  inc(labels: Labels<L>, by = 1): void {
    this.#get(labels).value += by;
  }

  set(labels: Labels<L>, value: number): void {
    this.#get(labels).value = value;
  }

  observe(labels: Labels<L>, value: number): void {
    const s = this.#get(labels);
    s.value += 1;
    s.sum! += value;
    const i = this.spec.buckets!.findIndex((b) => value <= b);
    if (i >= 0) s.counts![i]! += 1;
  }

  collect(fn: () => Iterable<readonly [Labels<L>, number]>): void {
    this.#collect = fn;
  }

  /** The sum over every series whose labels match `where` (dashboard totals). */
  total(where: Partial<Labels<L>> = {}): number {
    let n = 0;
    for (const s of this.#snapshot()) {
      if (this.spec.labels.every((l, i) => where[l] === undefined || where[l] === s.labels[i])) n += s.value;
    }
    return n;
  }

  /** Each series as label values and value (histograms: the count). */
  series(): { labels: Labels<L>; value: number }[] {
    return this.#snapshot().map((s) => ({ labels: Object.fromEntries(this.spec.labels.map((l, i) => [l, s.labels[i]!])) as Labels<L>, value: s.value }));
  }

  #snapshot(): Series[] {
    if (!this.#collect) return [...this.#series.values()];
    return [...this.#collect()].map(([labels, value]) => ({ labels: this.spec.labels.map((l) => labels[l]), value }));
  }

  render(): string {
    const { name, type, help, labels } = this.spec;
    const out = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
    const pairs = (values: readonly string[], extra?: string) => {
      const parts = labels.map((l, i) => `${l}="${escapeLabel(values[i] ?? "")}"`);
      if (extra) parts.push(extra);
      return parts.length ? `{${parts.join(",")}}` : "";
    };
    for (const s of this.#snapshot()) {
      if (type !== "histogram") {
        out.push(`${name}${pairs(s.labels)} ${formatValue(s.value)}`);
        continue;
      }
      let cumulative = 0;
      this.spec.buckets!.forEach((b, i) => {
        cumulative += s.counts![i]!;
        out.push(`${name}_bucket${pairs(s.labels, `le="${b}"`)} ${cumulative}`);
      });
      out.push(`${name}_bucket${pairs(s.labels, 'le="+Inf"')} ${s.value}`);
      out.push(`${name}_sum${pairs(s.labels)} ${formatValue(s.sum!)}`);
      out.push(`${name}_count${pairs(s.labels)} ${s.value}`);
    }
    return out.join("\n");
  }
}

export class Registry {
  readonly #metrics: Metric<string>[] = [];

  register<L extends string>(spec: MetricSpec<L>): Metric<L> {
    if (this.#metrics.some((m) => m.spec.name === spec.name)) throw new Error(`metric ${spec.name} declared twice`);
    const m = new Metric(spec);
    this.#metrics.push(m as unknown as Metric<string>);
    return m;
  }

  get specs(): readonly MetricSpec<string>[] {
    return this.#metrics.map((m) => m.spec);
  }

  /** The exposition body (content-type text/plain; version=0.0.4). */
  render(): string {
    return `${this.#metrics.map((m) => m.render()).join("\n")}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
