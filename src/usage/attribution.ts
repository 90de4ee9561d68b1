/**
 * Claude Code names its session and, in a subagent, the agent on every request (headers found in
 * Claude Code 2.1's own list of the headers it sends: `X-Claude-Code-Session-Id`,
 * `x-claude-code-agent-id`). ccp records them so usage can be summed per session.
 */
export const SESSION_HEADER = "x-claude-code-session-id";
export const AGENT_HEADER = "x-claude-code-agent-id";

/** An id is a UUID or similar; anything longer is cut, so a client cannot grow a usage line. */
export const MAX_ID_CHARS = 128;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A client-chosen id as the usage line keeps it: redacted, no control characters, bounded; null when absent or empty. */
export function cleanId(value: string | null, redact: (text: string) => string): string | null {
  if (value === null) return null;
  const clean = redact(value).replace(CONTROL, "").trim().slice(0, MAX_ID_CHARS);
  return clean === "" ? null : clean;
}

/** The session and agent a request names. Pure. */
export function attribution(headers: Headers, redact: (text: string) => string): { session_id: string | null; agent_id: string | null } {
  return { session_id: cleanId(headers.get(SESSION_HEADER), redact), agent_id: cleanId(headers.get(AGENT_HEADER), redact) };
}
