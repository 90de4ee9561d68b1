import { quote } from "../upstream/quote.ts";
import type { SseEvent } from "./parser.ts";

/** What the proxy learns from watching a Messages stream (or a JSON Message body). */
export interface StreamObservation {
  /** Saw `message_start`. */
  messageStart: boolean;
  /** Saw `message_stop`: the stream ended well-formed. */
  messageStop: boolean;
  /** Saw a `content_block_delta` (the first content token). */
  content: boolean;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  cacheReadInputTokens: number | undefined;
  cacheCreationInputTokens: number | undefined;
  stopReason: string | undefined;
  /** An in-stream `event: error` (type and message as the upstream sent them; raw: its data, for a provider code). */
  error: { type: string; message: string; raw: string } | undefined;
  /** Content blocks started and not yet stopped (indices as the client saw them). */
  openBlocks: Set<number>;
  /** Saw `message_delta`. */
  messageDelta: boolean;
  /** Thinking blocks open now (their deltas are decoded: the signature arrives in one). */
  thinkingOpen: Set<number>;
  /** Signatures of the thinking blocks (and data of redacted_thinking blocks) this answer carried: who signed what. */
  signatures: string[];
}

export const newObservation = (): StreamObservation => ({
  messageStart: false,
  messageStop: false,
  content: false,
  inputTokens: undefined,
  outputTokens: undefined,
  cacheReadInputTokens: undefined,
  cacheCreationInputTokens: undefined,
  stopReason: undefined,
  error: undefined,
  openBlocks: new Set(),
  messageDelta: false,
  thinkingOpen: new Set(),
  signatures: [],
});

/** Signatures kept per answer (a message has a few thinking blocks). */
const MAX_SIGNATURES = 64;

function keepSignature(o: StreamObservation, s: unknown): void {
  if (typeof s === "string" && s.length > 0 && o.signatures.length < MAX_SIGNATURES) o.signatures.push(s);
}

interface Usage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function takeUsage(o: StreamObservation, usage: Usage | undefined): void {
  if (!usage || typeof usage !== "object") return;
  // message_delta usage is cumulative (Messages streaming docs): later values replace earlier ones.
  o.inputTokens = num(usage.input_tokens) ?? o.inputTokens;
  o.outputTokens = num(usage.output_tokens) ?? o.outputTokens;
  o.cacheReadInputTokens = num(usage.cache_read_input_tokens) ?? o.cacheReadInputTokens;
  o.cacheCreationInputTokens = num(usage.cache_creation_input_tokens) ?? o.cacheCreationInputTokens;
}

function parse(data: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const PARSED = new Set(["message_start", "content_block_start", "content_block_stop", "message_delta", "error"]);

/** The events whose data observeEvent reads; the parser need not decode any other's. */
export const observedData = (event: string): boolean => PARSED.has(event);

/** observedData, and the deltas of an open thinking block (its signature comes in one); text deltas stay undecoded. */
export const observedDataOf =
  (o: StreamObservation) =>
  (event: string): boolean =>
    PARSED.has(event) || (event === "content_block_delta" && o.thinkingOpen.size > 0);

/**
 * Updates the observation from one event. Only the few events that carry usage,
 * stop reason or errors are JSON-parsed; content deltas are recognised by name alone.
 * Unknown event types are ignored (PROTOCOL.md: pass on, ignore).
 */
export function observeEvent(o: StreamObservation, ev: SseEvent): void {
  switch (ev.event) {
    case "content_block_delta":
      o.content = true;
      if (o.thinkingOpen.size > 0 && ev.data.includes('"signature_delta"')) {
        const delta = parse(ev.data)?.delta as { type?: unknown; signature?: unknown } | undefined;
        if (delta?.type === "signature_delta") keepSignature(o, delta.signature);
      }
      return;
    case "message_start": {
      o.messageStart = true;
      const message = parse(ev.data)?.message as { usage?: Usage } | undefined;
      takeUsage(o, message?.usage);
      return;
    }
    case "content_block_start":
    case "content_block_stop": {
      const d = parse(ev.data);
      const index = d?.index;
      if (typeof index !== "number") return;
      if (ev.event === "content_block_stop") {
        o.openBlocks.delete(index);
        o.thinkingOpen.delete(index);
        return;
      }
      o.openBlocks.add(index);
      const block = d?.content_block as { type?: unknown; signature?: unknown; data?: unknown } | undefined;
      if (block?.type === "thinking") {
        o.thinkingOpen.add(index);
        keepSignature(o, block.signature);
      } else if (block?.type === "redacted_thinking") keepSignature(o, block.data);
      return;
    }
    case "message_delta": {
      o.messageDelta = true;
      const d = parse(ev.data);
      const delta = d?.delta as { stop_reason?: unknown } | undefined;
      if (typeof delta?.stop_reason === "string") o.stopReason = delta.stop_reason;
      takeUsage(o, d?.usage as Usage | undefined);
      return;
    }
    case "message_stop":
      o.messageStop = true;
      return;
    case "error": {
      const err = parse(ev.data)?.error as { type?: unknown; message?: unknown } | undefined;
      o.error = {
        type: typeof err?.type === "string" ? err.type : "error",
        message: typeof err?.message === "string" ? err.message : quote(ev.data, 500),
        raw: ev.data.slice(0, 2000),
      };
      return;
    }
  }
}

/** A non-streaming Messages response: one JSON Message (or an error envelope). */
export function observeJsonBody(o: StreamObservation, text: string): void {
  const body = parse(text);
  if (!body) return;
  if (body.type === "message") {
    o.messageStart = true;
    o.messageStop = true;
    o.content = true;
    if (typeof body.stop_reason === "string") o.stopReason = body.stop_reason;
    takeUsage(o, body.usage as Usage | undefined);
    if (Array.isArray(body.content)) {
      for (const b of body.content as { type?: unknown; signature?: unknown; data?: unknown }[]) {
        if (b?.type === "thinking") keepSignature(o, b.signature);
        else if (b?.type === "redacted_thinking") keepSignature(o, b.data);
      }
    }
  } else if (body.type === "error") {
    const err = body.error as { type?: unknown; message?: unknown } | undefined;
    o.error = {
      type: typeof err?.type === "string" ? err.type : "error",
      message: typeof err?.message === "string" ? err.message : "",
      raw: text.slice(0, 2000),
    };
  }
}
