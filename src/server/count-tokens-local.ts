/**
 * A local estimate for `count_tokens`, for lanes whose provider lacks the endpoint.
 * About four characters per token over the text that counts (system, messages, tools):
 * close enough for Claude Code's context bookkeeping, and labelled as an estimate.
 */
export function estimateInputTokens(body: Record<string, unknown>): number {
  const text = JSON.stringify([body.system ?? "", body.messages ?? [], body.tools ?? []]);
  return Math.max(1, Math.ceil(text.length / 4));
}
