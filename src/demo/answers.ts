/**
 * What the demo's simulated upstream answers, in the Anthropic Messages API's shapes
 * (PROTOCOL.md): a short text that says it is simulated, as an event stream or one JSON Message,
 * with token usage estimated from the request as a provider would count it (about 4 characters a
 * token). Pure: the simulator (simulator.ts) sends these.
 */

/** What the simulator reads of a Messages request. */
export interface DemoRequest {
  readonly model: string;
  readonly stream: boolean;
  /** The request body's size in characters: the input token estimate. */
  readonly chars: number;
  /** The last user text, shortened: quoted in the answer. */
  readonly asked: string;
}

const CHARS_PER_TOKEN = 4;
const QUOTE_CHARS = 60;

export const estimateTokens = (chars: number): number => Math.max(1, Math.ceil(chars / CHARS_PER_TOKEN));

/** The last user turn's text (a string, or its text blocks), whitespace collapsed and cut to a short quote. */
export function lastUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: unknown; content?: unknown }[]) : [];
  const last = [...messages].reverse().find((m) => m.role === "user");
  const content = last?.content;
  const text =
    typeof content === "string"
      ? content
      : Array.isArray(content)
        ? content
            .filter((b): b is { type: "text"; text: string } => typeof b === "object" && b !== null && b.type === "text" && typeof b.text === "string")
            .map((b) => b.text)
            .filter((t) => !t.startsWith("<system-reminder>"))
            .join(" ")
        : "";
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS - 1)}…` : flat;
}

export function readDemoRequest(text: string): DemoRequest {
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: ccp would not have forwarded it; answer as to an empty request.
  }
  return { model: typeof body.model === "string" ? body.model : "claude-demo", stream: body.stream === true, chars: text.length, asked: lastUserText(body) };
}

/** The answer's words: it says it is simulated, and what it was asked. */
export function answerWords(req: DemoRequest): string[] {
  const quote = req.asked ? ` You asked: “${req.asked}”.` : "";
  const text = `[ccp demo] A simulated answer: no model was asked and nothing left this machine.${quote} ccp routed, streamed and logged it.`;
  return text.split(/(?<= )/);
}

/** Output tokens of an answer: a token per short word, more for long ones. */
export const outputTokens = (words: readonly string[]): number => words.reduce((n, w) => n + Math.max(1, Math.ceil(w.trim().length / 5)), 0);

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** The events of a streamed answer, in order: message_start, one text block word by word, message_delta, message_stop. */
export function streamEvents(req: DemoRequest, id: string, words: readonly string[]): string[] {
  const usage = { input_tokens: estimateTokens(req.chars), cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 };
  const message = { id, type: "message", role: "assistant", model: req.model, content: [], stop_reason: null, stop_sequence: null, usage };
  return [
    frame("message_start", { type: "message_start", message }),
    frame("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    frame("ping", { type: "ping" }),
    ...words.map((w) => frame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: w } })),
    frame("content_block_stop", { type: "content_block_stop", index: 0 }),
    frame("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: outputTokens(words) } }),
    frame("message_stop", { type: "message_stop" }),
  ];
}

/** The same answer as one JSON Message (`stream: false`). */
export function messageBody(req: DemoRequest, id: string, words: readonly string[]): unknown {
  return {
    id,
    type: "message",
    role: "assistant",
    model: req.model,
    content: [{ type: "text", text: words.join("") }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: estimateTokens(req.chars), cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens(words) },
  };
}

/** Z.ai's burst limit as it arrives: HTTP 200, then at once an error event with code 1302 and no message_start (PROTOCOL.md). */
export const BURST_EVENT = frame("error", {
  type: "error",
  error: { type: "rate_limit_error", message: "[1302] High concurrency usage of this API, please reduce concurrency (simulated by ccp demo)" },
});

/** Anthropic's overload answer: HTTP 529 with overloaded_error. */
export const overloadBody = (requestId: string) => ({ type: "error", error: { type: "overloaded_error", message: "Overloaded (simulated by ccp demo)" }, request_id: requestId });

/** The demo's model list (GET /v1/models), in Anthropic's shape. */
export function modelsBody(): unknown {
  const ids = ["claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5-20251001"];
  const data = ids.map((id) => ({ type: "model", id, display_name: `${id} (ccp demo, simulated)`, created_at: "2025-10-01T00:00:00Z" }));
  return { data, has_more: false, first_id: ids[0], last_id: ids.at(-1) };
}
