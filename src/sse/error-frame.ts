/**
 * Anthropic's error envelope (PROTOCOL.md "Error envelope"): the body of an HTTP error ccp
 * answers, and the data of the `event: error` frame that ends a committed stream it cannot finish.
 */
export function errorEnvelope(type: string, message: string, rid: string): string {
  return JSON.stringify({ type: "error", error: { type, message }, request_id: rid });
}

/** A well-formed in-stream error frame that ends a committed SSE stream. */
export function errorFrame(type: string, message: string, rid: string): string {
  return `event: error\ndata: ${errorEnvelope(type, message, rid)}\n\n`;
}
