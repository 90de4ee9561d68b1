type Json = Record<string, unknown>;

/**
 * Claude Code sends this header on a subagent's requests only (its value the agent's id; the
 * main conversation has none): checked in Claude Code 2.1.330, which sets it from the request's
 * agent context, never from the system prompt's wording.
 */
export const SUBAGENT_HEADER = "x-claude-code-agent-id";

/**
 * What routes may ask of a request. Pure data; a request described by hand (`ccp route`, the
 * status line) leaves out what it does not know, which reads as false, none and 0.
 */
export interface RouteFacts {
  readonly model: string;
  /** A subagent's request (SUBAGENT_HEADER present). */
  readonly subagent?: boolean | undefined;
  /** The request enables extended thinking (`thinking.type` "enabled" or "adaptive"). */
  readonly thinking?: boolean | undefined;
  /** Names and server-tool types of the tools offered (a type also without its date: web_search_20250305 → web_search). */
  readonly tools?: readonly string[] | undefined;
  /** ccp's estimate of the input tokens; a function, so a large body is walked only when a route asks. */
  readonly inputTokens?: (() => number) | undefined;
}

/** The tool names and types a body offers, a dated server-tool type also without its date. */
export function offeredTools(body: Json): string[] {
  const out = new Set<string>();
  for (const t of Array.isArray(body.tools) ? (body.tools as Json[]) : []) {
    if (typeof t?.name === "string") out.add(t.name);
    if (typeof t?.type === "string") {
      out.add(t.type);
      out.add(t.type.replace(/_\d{8}$/, ""));
    }
  }
  return [...out];
}

/** Extended thinking is on: Claude Code sends `{type: "adaptive"}` or `{type: "enabled", budget_tokens}`, and `disabled` or nothing when it is off. */
export function thinkingOn(body: Json): boolean {
  const type = (body.thinking as Json | undefined)?.type;
  return type === "enabled" || type === "adaptive";
}

/** A Messages body as the server checked it (server/request-body.ts), read once. */
export interface BodyFacts {
  readonly model: string;
  readonly thinking: boolean;
  readonly tools: readonly string[];
  inputTokens(): number;
}

/** The facts of a checked Messages body and its headers. */
export function requestFacts(body: BodyFacts, headers: { get(name: string): string | null }): RouteFacts {
  return {
    model: body.model,
    subagent: (headers.get(SUBAGENT_HEADER) ?? "") !== "",
    thinking: body.thinking,
    tools: body.tools,
    inputTokens: () => body.inputTokens(),
  };
}
