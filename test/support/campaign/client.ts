import type Anthropic from "@anthropic-ai/sdk";
import { APIError } from "@anthropic-ai/sdk";

/**
 * One request through the Anthropic SDK, as an application makes it (messages.create, streaming
 * or not), and what the client saw: rule 1 of issue 19 checked from the client's side. Every
 * event of a stream is consumed; a non-streaming answer must be the parsed Message.
 */
export interface Seen {
  /** The HTTP status the SDK saw (0: none). */
  readonly status: number;
  readonly rid: string | null;
  /** message: a JSON Message; stop: a stream ended by message_stop; error_frame: by `event: error`; error_status: an error answer; none: nothing usable. */
  readonly end: "message" | "stop" | "error_frame" | "error_status" | "none";
  /** The answer's text as the client assembled it. */
  readonly text: string;
  /** The error type of an error answer or frame. */
  readonly errType: string | null;
  /** What was not well-formed (rule 1). */
  readonly problems: readonly string[];
  readonly ms: number;
  /** The deadline passed and the request was aborted. */
  readonly hung: boolean;
}

interface ErrorBody {
  readonly type?: unknown;
  readonly error?: { readonly type?: unknown; readonly message?: unknown };
}

/** Anthropic's error envelope: `{"type":"error","error":{"type":…,"message":…}}`. */
function envelopeType(body: unknown): string | undefined {
  const b = body as ErrorBody | undefined;
  if (b?.type !== "error" || typeof b.error?.type !== "string" || typeof b.error.message !== "string") return undefined;
  return b.error.type;
}

const describe = (e: unknown) => (e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)).slice(0, 300);

/** The event order of a Messages stream (PROTOCOL.md); unknown event types are allowed and ignored. */
function checkEvents(events: readonly unknown[], problems: string[]): { text: string; stopped: boolean } {
  let started = false;
  let stopped = false;
  let delta = false;
  let next = 0;
  let text = "";
  const open = new Set<number>();
  for (const [i, ev] of events.entries()) {
    const e = ev as { type?: string; index?: number; delta?: { type?: string; text?: string } };
    if (stopped) {
      problems.push(`event ${i} (${e.type}) after message_stop`);
      break;
    }
    if (!started && e.type !== "message_start" && ["content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"].includes(String(e.type))) {
      problems.push(`event ${i} is ${e.type}, before any message_start`);
    }
    switch (e.type) {
      case "message_start":
        if (started) problems.push(`a second message_start (event ${i})`);
        started = true;
        break;
      case "content_block_start":
        if (e.index !== next) problems.push(`content_block_start index ${e.index}, expected ${next}`);
        open.add(e.index ?? -1);
        next++;
        break;
      case "content_block_delta":
        if (!open.has(e.index ?? -1)) problems.push(`content_block_delta for block ${e.index}, which is not open`);
        if (e.delta?.type === "text_delta") text += e.delta.text ?? "";
        break;
      case "content_block_stop":
        if (!open.delete(e.index ?? -1)) problems.push(`content_block_stop for block ${e.index}, which is not open`);
        break;
      case "message_delta":
        if (open.size > 0) problems.push(`message_delta with blocks ${[...open].join(",")} open`);
        delta = true;
        break;
      case "message_stop":
        if (open.size > 0 || !delta) problems.push(`message_stop with blocks open or without message_delta`);
        stopped = true;
        break;
    }
  }
  return { text, stopped };
}

export async function ask(client: Anthropic, o: { model: string; stream: boolean; deadlineMs: number }): Promise<Seen> {
  const t0 = performance.now();
  const abort = new AbortController();
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    abort.abort();
  }, o.deadlineMs);
  const problems: string[] = [];
  let status = 0;
  let rid: string | null = null;
  let end: Seen["end"] = "none";
  let text = "";
  let errType: string | null = null;
  const params = { model: o.model, max_tokens: 64, messages: [{ role: "user" as const, content: "campaign" }] };
  const options = { signal: abort.signal, timeout: o.deadlineMs + 10_000 };
  try {
    if (o.stream) {
      const { data, response } = await client.messages.create({ ...params, stream: true }, options).withResponse();
      status = response.status;
      rid = response.headers.get("x-ccp-rid");
      if (!/^text\/event-stream/i.test(response.headers.get("content-type") ?? "")) problems.push(`a ${status} stream answer with content-type ${response.headers.get("content-type")}`);
      const events: unknown[] = [];
      let thrown: unknown;
      try {
        for await (const ev of data) events.push(ev);
      } catch (e) {
        thrown = e;
      }
      const seen = checkEvents(events, problems);
      text = seen.text;
      if (thrown instanceof APIError && thrown.status === undefined) {
        end = "error_frame";
        errType = envelopeType(thrown.error) ?? null;
        if (errType === null) problems.push(`an error frame that is not Anthropic's envelope: ${JSON.stringify(thrown.error).slice(0, 200)}`);
        if (seen.stopped) problems.push("an error frame after message_stop");
      } else if (thrown !== undefined) {
        problems.push(`the stream broke without an error frame: ${describe(thrown)}`);
      } else if (seen.stopped) {
        end = "stop";
      } else {
        problems.push(`the stream ended without message_stop or an error frame (${events.length} events${hung ? ", aborted at the deadline" : ""})`);
      }
    } else {
      const { data, response } = await client.messages.create(params, options).withResponse();
      status = response.status;
      rid = response.headers.get("x-ccp-rid");
      const message = data as unknown as { type?: unknown; content?: unknown };
      if (!/^application\/json/i.test(response.headers.get("content-type") ?? "")) problems.push(`a ${status} answer with content-type ${response.headers.get("content-type")}`);
      if (typeof message !== "object" || message?.type !== "message" || !Array.isArray(message.content)) {
        problems.push(`a ${status} answer the SDK did not parse as a Message: ${JSON.stringify(data).slice(0, 200)}`);
      } else {
        end = "message";
        text = (message.content as { type?: string; text?: string }[]).map((b) => (b.type === "text" ? (b.text ?? "") : "")).join("");
      }
    }
  } catch (e) {
    if (e instanceof APIError && typeof e.status === "number") {
      status = e.status;
      end = "error_status";
      rid = e.headers?.get("x-ccp-rid") ?? null;
      errType = envelopeType(e.error) ?? null;
      if (errType === null) problems.push(`a ${status} answer whose body is not Anthropic's envelope: ${JSON.stringify(e.error ?? e.message).slice(0, 200)}`);
      if (!/^application\/json/i.test(e.headers?.get("content-type") ?? "")) problems.push(`a ${status} error with content-type ${e.headers?.get("content-type")}`);
      if (status < 400) problems.push(`the SDK refused a ${status} answer: ${describe(e)}`);
    } else {
      problems.push(`no answer: ${describe(e)}${hung ? " (aborted at the deadline)" : ""}`);
    }
  } finally {
    clearTimeout(timer);
  }
  if (hung) problems.push(`no complete answer within ${o.deadlineMs} ms (hang)`);
  return { status, rid, end, text, errType, problems, ms: Math.round(performance.now() - t0), hung };
}
