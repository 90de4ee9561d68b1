import type { RawEnd } from "../fake-upstream/index.ts";
import { commitPoints, type Effect, IN_STREAM_ERRORS, isCut, judgeStream, MAX_QUIET_MS, protocolFailure } from "./effects.ts";
import { answerText, errorFrame, eventFrame, type Frame, int, messageFrames, type MessageSpec, pick, pingFrame, place, PLAIN, type Placed, randomStyle, type Rnd, type SseStyle } from "./sse.ts";
import { chooseCut, duration, raw, type Step, type StepCtx, THENS, type Wait } from "./steps.ts";

// Event-stream attempts: a message stream in one of the many legal styles and timings, cut
// anywhere and ended any way, and what ccp must make of it (effects.ts, judgeStream).

const SSE_TYPES = ["text/event-stream", "text/event-stream", "text/event-stream; charset=utf-8", "Text/Event-Stream"] as const;

type Timing = "none" | "slow first byte" | "pings then content" | "slow frames" | "quiet under idle" | "late commit";

interface StreamSpec {
  readonly style: SseStyle;
  readonly frames: readonly Frame[];
  readonly fullText: string;
  readonly timing: Timing;
  readonly label: string;
}

/** A message stream with a random style and timing. */
export function messageStream(c: StepCtx, o: { timing?: Timing; spec?: Partial<MessageSpec>; style?: SseStyle } = {}): StreamSpec {
  const { rnd } = c;
  const style = o.style ?? randomStyle(rnd);
  const long = rnd() < 0.08;
  const pieces = answerText(rnd, `c${c.n}.a${c.attempt}`, long);
  const timing =
    o.timing ?? pick(rnd, ["none", "none", "none", "none", "none", "slow first byte", "pings then content", "pings then content", "slow frames", "quiet under idle", "late commit"] as const);
  const spec: MessageSpec = {
    id: `msg_campaign_${c.n}_${c.attempt}`,
    model: c.model,
    pieces,
    pingsBefore: timing === "pings then content" ? int(rnd, 2, 4) : rnd() < 0.2 ? 1 : 0,
    // Over the commit hold (2 s) in pings, each well under idle_ms: message_start is committed before the first block.
    pingsAfterStart: timing === "late commit" ? 5 : 0,
    ...o.spec,
  };
  const eol = { "\n": "lf", "\r\n": "crlf", "\r": "cr" }[style.eol];
  const traits = [
    eol,
    style.noSpace && "nospace",
    style.comments && "comments",
    style.ids && "ids",
    style.splitData && "split-data",
    style.noise && "noise",
    long && "long-line",
    spec.missingFinalBlank && "no-final-blank",
  ].filter(Boolean);
  return {
    style,
    frames: messageFrames(style, rnd, spec),
    fullText: pieces.join(""),
    timing,
    label: `sse[${traits.join(",")}]${timing === "none" ? "" : ` ${timing}`}`,
  };
}

function timingWaits(rnd: Rnd, placed: readonly Placed[], timing: Timing): { waits: Wait[]; headersDelayMs: number } {
  const waits: Wait[] = [];
  if (timing === "pings then content") {
    const start = placed.findIndex((f) => f.event === "message_start");
    for (const f of placed.slice(0, start + 1)) waits.push({ at: f.start, ms: int(rnd, 100, 300) });
  }
  if (timing === "late commit") {
    const start = placed.findIndex((f) => f.event === "message_start");
    for (const f of placed.slice(start + 1, start + 6)) waits.push({ at: f.start, ms: MAX_QUIET_MS });
  }
  if (timing === "slow frames") for (let i = 0; i < 3; i++) waits.push({ at: pick(rnd, placed).start, ms: int(rnd, 10, 100) });
  if (timing === "quiet under idle") waits.push({ at: pick(rnd, placed).start, ms: int(rnd, 300, MAX_QUIET_MS) });
  return { waits, headersDelayMs: timing === "slow first byte" ? int(rnd, 100, 400) : 0 };
}

/** An event stream answer, cut somewhere in [lo, hi] (chars, or "full"), then ended as `then`. */
export function streamStep(c: StepCtx, s: StreamSpec, where: "before commit" | "after commit" | "full", then: RawEnd, o: { ct?: string; gzip?: boolean; endWaitMs?: number } = {}): Step {
  const { rnd } = c;
  const { body, placed } = place(s.frames, s.style.eol);
  // A late commit happens on the clock, not at an offset: its cuts are never before the first block (callers see to it).
  const commit = Math.min(commitPoints(placed).commit, body.length);
  const cut = where === "full" ? body.length : where === "before commit" ? chooseCut(rnd, body, placed, 0, commit - 1) : chooseCut(rnd, body, placed, commit, body.length);
  const { waits, headersDelayMs } = timingWaits(rnd, placed, s.timing);
  const ct = o.ct ?? pick(rnd, SSE_TYPES);
  const r = raw(c, {
    status: 200,
    headers: [
      ["content-type", ct],
      ["cache-control", "no-cache"],
    ],
    body,
    cut,
    then,
    waits,
    headersDelayMs,
    starts: placed.map((f) => f.start),
    gzip: o.gzip,
    endWaitMs: o.endWaitMs,
  });
  let effect: Effect;
  if (o.gzip) effect = protocolFailure;
  else if (!c.stream)
    effect = protocolFailure; // an event stream to a request that asked for JSON
  else effect = judgeStream(placed, cut, then, c.transport, s.fullText);
  const at = cut === body.length ? "whole" : `cut@${cut}/${body.length}`;
  // CRLF, cut between the CR and the LF of a blank line that ends a frame: a reader has the event, the frame is not whole.
  const split = placed.find((f) => f.dispatch === cut && f.dispatch < f.end && f.event !== null && ["content_block_start", "content_block_stop", "message_delta", "message_stop"].includes(f.event));
  const tags = split && !isCut(then) && c.stream && !o.gzip ? [`crlf-split ${split.event}`] : [];
  const late = o.endWaitMs ? ` ${o.endWaitMs} ms later` : "";
  return {
    label: `200 ${s.label}${o.gzip ? " gzip" : ""} ${at} (${r.shape}) then ${then}${late}`,
    behaviour: r.behaviour,
    effect,
    ms: duration(r.quietMs, then, effect),
    tags,
  };
}

export function streamBeforeCommit(c: StepCtx): Step {
  const { rnd } = c;
  const variant = pick(rnd, ["cut", "cut", "cut", "error first", "error after message_start", "no message_start", "empty"] as const);
  if (variant === "cut")
    return streamStep(c, messageStream(c, { timing: pick(rnd, ["none", "none", "slow first byte", "pings then content", "slow frames"] as const) }), "before commit", pick(rnd, THENS));
  const style = rnd() < 0.5 ? PLAIN : randomStyle(rnd);
  const err = pick(rnd, IN_STREAM_ERRORS);
  const start = messageFrames(style, rnd, { id: `msg_campaign_${c.n}_${c.attempt}`, model: c.model, pieces: ["x"] })[0]!;
  const frames: Frame[] =
    variant === "error first"
      ? [...Array.from({ length: int(rnd, 0, 2) }, () => pingFrame(style, rnd)), errorFrame(style, rnd, err.type, err.message)]
      : variant === "error after message_start"
        ? [start, pingFrame(style, rnd), errorFrame(style, rnd, err.type, err.message)]
        : variant === "no message_start"
          ? [eventFrame(style, rnd, "content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })]
          : [];
  const s: StreamSpec = {
    style,
    frames,
    fullText: "",
    timing: "none",
    label: `sse ${variant}${variant.startsWith("error") ? ` ${err.type} "${err.message.slice(0, 12)}"` : ""}`,
  };
  return streamStep(c, s, "full", "end");
}

export function streamAfterCommit(c: StepCtx): Step {
  const { rnd } = c;
  const variant = pick(rnd, ["cut", "cut", "cut", "error after content", "no final blank line", "whole then cut"] as const);
  if (variant === "cut") return streamStep(c, messageStream(c), "after commit", pick(rnd, THENS));
  if (variant === "whole then cut") return streamStep(c, messageStream(c), "full", pick(rnd, ["reset", "rst_stream", "goaway", "stall"] as const));
  if (variant === "no final blank line") return streamStep(c, messageStream(c, { spec: { missingFinalBlank: true } }), "full", rnd() < 0.7 ? "end" : pick(rnd, THENS));
  const err = pick(rnd, IN_STREAM_ERRORS);
  // Real upstreams often end the stream a little after their error frame, not in the same packet.
  const endWaitMs = rnd() < 0.5 ? int(rnd, 50, 300) : 0;
  return streamStep(c, messageStream(c, { spec: { errorAfterDeltas: { after: int(rnd, 0, 1), type: err.type, message: err.message } } }), "full", "end", {
    endWaitMs,
  });
}

export function sseToNonStream(c: StepCtx): Step {
  return streamStep(c, messageStream(c, { timing: "none" }), "full", "end");
}

export function compressedStream(c: StepCtx): Step {
  return streamStep(c, messageStream(c, { timing: "none" }), "full", "end", { gzip: true });
}
