import { fallbackOf, matchesFilter, parseSince, retriesOf, statusMatcher, type UsageFilter, type UsageLine } from "../../ops/usage-filter.ts";
import { fileSize, readSince, tailAcrossRotations } from "../../ops/usage-log.ts";
import { ExitError } from "../exit-error.ts";
import { fixedRow, out, table } from "../render.ts";
import { usageSource } from "../usage-source.ts";

export interface UsageOptions {
  readonly port?: number;
  readonly profile?: string;
  readonly config?: string;
  readonly tail: number;
  readonly follow?: boolean;
  readonly lane?: string;
  readonly status?: string;
  readonly errors?: boolean;
  readonly since?: string;
  readonly json?: boolean;
  // `--stats` is dispatched to usage-stats.ts by the command table, with these same filters.
}

/** The filter the options describe; shared with anything else that reads the same lines. */
export function usageFilter(opts: UsageOptions, now = Date.now()): UsageFilter {
  if (opts.status !== undefined && !statusMatcher(opts.status)) throw new ExitError(2, `--status "${opts.status}" is not a status`, "give one like 502 or a class like 5xx");
  let since: number | undefined;
  if (opts.since !== undefined) {
    since = parseSince(opts.since, now);
    if (since === undefined) throw new ExitError(2, `--since "${opts.since}" is not a duration or a date`, "give one like 30m, 1h, 2d or 2025-06-01T12:00:00Z");
  }
  return { lane: opts.lane, status: opts.status, errors: opts.errors, since };
}

export async function usage(opts: UsageOptions): Promise<void> {
  const filter = usageFilter(opts);
  // The running instance's log (it knows its profile), else the config's: past logs read with no proxy running.
  const file = (await usageSource(opts)).log;
  const keep = (r: UsageLine) => matchesFilter(r, filter);
  // Where the tail ends is where --follow starts: a line appended while the tail prints is shown once.
  const end = fileSize(file);
  const lines = tailAcrossRotations(file, opts.tail, keep, end);
  if (opts.json) for (const l of lines) console.log(l.raw);
  // --follow prints the header and the tail in the widths of the rows still to come.
  else if (opts.follow)
    console.log(
      followLines(
        lines.map((l) => l.record),
        true,
      ).join("\n"),
    );
  else if (lines.length) console.log(renderTable(lines.map((l) => l.record)));
  else console.error(out.dim(fileSize(file) ? `no usage lines match in ${file}` : `no usage lines yet (${file})`));
  if (!opts.follow) return;

  // --follow: poll for appended lines (fs.watch misses appends on some filesystems); Ctrl-C ends it.
  let offset = end;
  for (;;) {
    await Bun.sleep(250);
    const next = readSince(file, offset);
    offset = next.offset;
    next.records.forEach((r, i) => {
      if (!keep(r)) return;
      console.log(opts.json ? next.raw[i] : followLines([r], false)[0]);
    });
  }
}

const HEADER = ["time", "lane", "model", "status", "protocol", "ttft", "ms", "tokens", "retries", "notes"] as const;
/** --follow's column widths, fixed before the rows are known: room for today's model ids and six-digit token counts. */
const FOLLOW_WIDTHS = [8, 12, 28, 6, 8, 6, 7, 13, 7] as const;

/** --follow's lines: the header (when asked) and one line per record, every one in the same fixed widths. */
export function followLines(records: readonly UsageLine[], header: boolean): string[] {
  const rows = records.map((r) => fixedRow(cells(r), FOLLOW_WIDTHS));
  return header
    ? [
        fixedRow(
          HEADER.map((h) => out.bold(h)),
          FOLLOW_WIDTHS,
        ),
        ...rows,
      ]
    : rows;
}

function time(ts: string | undefined): string {
  const d = new Date(ts ?? "");
  return Number.isNaN(d.getTime()) ? "-" : d.toTimeString().slice(0, 8);
}

function cells(r: UsageLine): string[] {
  const retries = retriesOf(r);
  const fallback = fallbackOf(r);
  const ttft = r.ttft_ms ?? null;
  const problem = [r.failure_class, r.err_type].filter((x, i, a) => x && a.indexOf(x) === i).join(" ");
  return [
    time(r.ts),
    r.lane ?? "-",
    r.model ?? "-",
    out.status(r.status),
    r.h2 === null || r.h2 === undefined ? "-" : r.h2 ? "h2" : "h1",
    ttft === null ? "-" : ttft > 5_000 ? out.bad(String(ttft)) : ttft > 2_000 ? out.warn(String(ttft)) : String(ttft),
    String(r.latency_ms ?? "-"),
    `${r.input_tokens ?? "-"}/${r.output_tokens ?? "-"}`,
    retries ? out.warn(String(retries)) : "0",
    [fallback ? out.warn(`fallback from ${fallback}`) : "", problem ? out.bad(problem) : ""].filter(Boolean).join(" "),
  ];
}

function renderTable(records: readonly UsageLine[]): string {
  return table(HEADER, records.map(cells));
}
