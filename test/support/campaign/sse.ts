/**
 * Anthropic event streams for the fault campaign, written the many ways the SSE format allows
 * (WHATWG HTML §9.2: LF, CRLF or CR line ends; comment lines; `id:` fields; a value without the
 * space after its colon; data split over several `data:` lines, joined with "\n" by readers),
 * with what a reader dispatches for each frame and where, so a cut at any offset can be judged.
 */
export type Rnd = () => number;
export type Eol = "\n" | "\r\n" | "\r";

export const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
export const int = (rnd: Rnd, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));

export interface SseStyle {
  readonly eol: Eol;
  /** `data:{...}`, not `data: {...}` */
  readonly noSpace: boolean;
  /** `: ...` comment lines in frames and comment-only frames between them */
  readonly comments: boolean;
  /** `id: N` lines */
  readonly ids: boolean;
  /** a frame's JSON over two `data:` lines */
  readonly splitData: boolean;
  /** after message_start: pings, unknown events and `data:` frames without `event:` between the frames */
  readonly noise: boolean;
}

export function randomStyle(rnd: Rnd): SseStyle {
  return {
    eol: pick(rnd, ["\n", "\n", "\n", "\r\n", "\r\n", "\r"] as const),
    noSpace: rnd() < 0.2,
    comments: rnd() < 0.3,
    ids: rnd() < 0.2,
    splitData: rnd() < 0.2,
    noise: rnd() < 0.35,
  };
}

export const PLAIN: SseStyle = { eol: "\n", noSpace: false, comments: false, ids: false, splitData: false, noise: false };

/** One frame as written, and what a reader makes of it. */
export interface Frame {
  readonly text: string;
  /** The event a reader dispatches ("message" for data without event:), null for a comment-only frame. */
  readonly event: string | null;
  /** The text of a text_delta frame. */
  readonly delta?: string;
  /** The error of an `event: error` frame. */
  readonly error?: { readonly type: string; readonly message: string };
}

/** A frame placed in its body: chars [start, end); `dispatch`: the reader has the event once this many chars arrived. */
export interface Placed extends Frame {
  readonly start: number;
  readonly end: number;
  readonly dispatch: number;
}

let ids = 0;

function write(s: SseStyle, rnd: Rnd, event: string | null, data: unknown): string {
  const sp = s.noSpace ? "" : " ";
  const lines: string[] = [];
  if (s.comments && rnd() < 0.3) lines.push(": campaign comment");
  if (event !== null) lines.push(`event:${sp}${event}`);
  if (s.ids && rnd() < 0.5) lines.push(`id:${sp}${++ids}`);
  const json = JSON.stringify(data);
  // The first comma of these objects follows their "type" value: a place JSON allows a line break.
  const comma = json.indexOf(",");
  if (s.splitData && comma > 0 && rnd() < 0.5) lines.push(`data:${sp}${json.slice(0, comma + 1)}`, `data:${sp}${json.slice(comma + 1)}`);
  else lines.push(`data:${sp}${json}`);
  return lines.map((l) => l + s.eol).join("") + s.eol;
}

export const eventFrame = (s: SseStyle, rnd: Rnd, event: string, data: Record<string, unknown>): Frame => ({ text: write(s, rnd, event, data), event });
export const pingFrame = (s: SseStyle, rnd: Rnd): Frame => eventFrame(s, rnd, "ping", { type: "ping" });
export const errorFrame = (s: SseStyle, rnd: Rnd, type: string, message: string): Frame => ({
  ...eventFrame(s, rnd, "error", { type: "error", error: { type, message } }),
  error: { type, message },
});

/** What may sit between two frames of a stream that has started: all ignored by readers. */
function noiseFrame(s: SseStyle, rnd: Rnd): Frame {
  const sp = s.noSpace ? "" : " ";
  switch (int(rnd, 0, 3)) {
    case 0:
      return pingFrame(s, rnd);
    case 1:
      return eventFrame(s, rnd, "campaign_unknown_event", { type: "campaign_unknown_event", note: "new event types must be passed on and ignored" });
    case 2:
      return { text: `data:${sp}{"type":"campaign_data_only"}${s.eol}${s.eol}`, event: "message" };
    default:
      return { text: `: keep-alive${s.eol}${s.eol}`, event: null };
  }
}

export interface MessageSpec {
  readonly id: string;
  readonly model: string;
  /** The text, as its text_delta pieces. */
  readonly pieces: readonly string[];
  /** ping frames before message_start */
  readonly pingsBefore?: number;
  /** ping frames between message_start and the first content block (a slow first block) */
  readonly pingsAfterStart?: number;
  /** the upstream's own `event: error` after this many deltas, and nothing after it */
  readonly errorAfterDeltas?: { readonly after: number; readonly type: string; readonly message: string };
  /** message_stop's frame lacks its blank line (the body ends after its data line) */
  readonly missingFinalBlank?: boolean;
}

/** The frames of one text message, as a stream. */
export function messageFrames(s: SseStyle, rnd: Rnd, m: MessageSpec): Frame[] {
  const frames: Frame[] = [];
  const noise = () => {
    if (s.noise && rnd() < 0.35) frames.push(noiseFrame(s, rnd));
    else if (s.comments && rnd() < 0.15) frames.push({ text: `: c${s.eol}${s.eol}`, event: null });
  };
  for (let i = 0; i < (m.pingsBefore ?? 0); i++) frames.push(pingFrame(s, rnd));
  if (s.comments && rnd() < 0.5) frames.push({ text: `: before the stream${s.eol}${s.eol}`, event: null });
  const usage = { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 };
  frames.push(
    eventFrame(s, rnd, "message_start", {
      type: "message_start",
      message: { id: m.id, type: "message", role: "assistant", model: m.model, content: [], stop_reason: null, stop_sequence: null, usage },
    }),
  );
  for (let i = 0; i < (m.pingsAfterStart ?? 0); i++) frames.push(pingFrame(s, rnd));
  noise();
  frames.push(eventFrame(s, rnd, "content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }));
  for (const [i, piece] of m.pieces.entries()) {
    if (m.errorAfterDeltas && i === m.errorAfterDeltas.after) {
      frames.push(errorFrame(s, rnd, m.errorAfterDeltas.type, m.errorAfterDeltas.message));
      return frames;
    }
    noise();
    frames.push({
      ...eventFrame(s, rnd, "content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } }),
      delta: piece,
    });
  }
  noise();
  frames.push(eventFrame(s, rnd, "content_block_stop", { type: "content_block_stop", index: 0 }));
  noise();
  frames.push(eventFrame(s, rnd, "message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 5 } }));
  const stop = eventFrame(s, rnd, "message_stop", { type: "message_stop" });
  frames.push(m.missingFinalBlank ? { ...stop, text: stop.text.slice(0, -s.eol.length) } : stop);
  return frames;
}

/**
 * The frames laid end to end. A reader dispatches an event at its blank line: with CRLF line
 * ends that is at the blank line's CR (a reader cannot wait for an LF that may never come);
 * a frame without its blank line is never dispatched (dropped at the end, per spec).
 */
export function place(frames: readonly Frame[], eol: Eol): { body: string; placed: Placed[] } {
  let at = 0;
  const placed = frames.map((f) => {
    const start = at;
    at += f.text.length;
    const dispatch = !f.text.endsWith(eol + eol) ? Number.POSITIVE_INFINITY : eol === "\r\n" ? at - 1 : at;
    return { ...f, start, end: at, dispatch };
  });
  return { body: frames.map((f) => f.text).join(""), placed };
}

/** Text for one answer: words with multi-byte characters (cut by 1-byte writes), quotes and escapes. */
export function answerText(rnd: Rnd, tag: string, long: boolean): string[] {
  const words = ["alpha", "βeta", "γάμμα", "日本語", "emoji🙂", 'quote"d', "back\\slash", "tab\tbed", "línea", "ok"];
  const pieces = [`${tag} `];
  for (let i = int(rnd, 1, 4); i > 0; i--) pieces.push(`${Array.from({ length: int(rnd, 1, 4) }, () => pick(rnd, words)).join(" ")} `);
  // A very long line: one text_delta frame of 70–150 KB (over the 64 KiB commit hold, under the 1 MiB frame bound).
  if (long) pieces.splice(1, 0, `${"long line ".repeat(int(rnd, 7_000, 15_000))}`);
  return pieces;
}

/** A char offset moved off the middle of a surrogate pair (a cut between whole code points). */
export function codePointBoundary(text: string, at: number): number {
  const c = text.charCodeAt(at - 1);
  return at > 0 && at < text.length && c >= 0xd800 && c <= 0xdbff ? at + 1 : at;
}
