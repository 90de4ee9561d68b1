/**
 * A provider that ignored `stream: true` and answered one JSON Message: the same answer as
 * the stream the client asked for (Messages streaming docs: message_start with the message
 * minus its content, each block as start / one delta / stop, message_delta with the stop
 * reason and output usage, message_stop). The client cannot tell, and gets every block whole.
 */
const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

type Block = Record<string, unknown> & { type?: unknown };

/** The empty block content_block_start carries, and the delta that fills it; undefined for a block type ccp does not know. */
function split(block: Block): { start: Block; delta: Record<string, unknown> | undefined } {
  switch (block.type) {
    case "text":
      return { start: { ...block, text: "" }, delta: { type: "text_delta", text: block.text ?? "" } };
    case "thinking": {
      const { signature, ...rest } = block;
      return {
        start: { ...rest, thinking: "" },
        delta: { type: "thinking_delta", thinking: block.thinking ?? "", ...(signature === undefined ? {} : { __signature: signature }) },
      };
    }
    case "tool_use":
    case "server_tool_use":
      return { start: { ...block, input: {} }, delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input ?? {}) } };
    default:
      // redacted_thinking, web search results and unknown blocks arrive whole in their start.
      return { start: block, delta: undefined };
  }
}

export function messageToSse(message: Record<string, unknown>): string {
  const content = Array.isArray(message.content) ? (message.content as Block[]) : [];
  const usage = (message.usage ?? {}) as Record<string, unknown>;
  let out = frame("message_start", {
    type: "message_start",
    message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 0 } },
  });
  content.forEach((block, index) => {
    const { start, delta } = split(block);
    out += frame("content_block_start", { type: "content_block_start", index, content_block: start });
    if (delta) {
      const { __signature: signature, ...d } = delta;
      out += frame("content_block_delta", { type: "content_block_delta", index, delta: d });
      if (signature !== undefined) out += frame("content_block_delta", { type: "content_block_delta", index, delta: { type: "signature_delta", signature } });
    }
    out += frame("content_block_stop", { type: "content_block_stop", index });
  });
  out += frame("message_delta", {
    type: "message_delta",
    delta: { stop_reason: message.stop_reason ?? "end_turn", stop_sequence: message.stop_sequence ?? null },
    usage: { output_tokens: typeof usage.output_tokens === "number" ? usage.output_tokens : 0 },
  });
  return out + frame("message_stop", { type: "message_stop" });
}
