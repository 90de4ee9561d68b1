// Z.ai's coding plan as the fake upstream plays it (CLAUDE-CODE-GATEWAY.md §4): the quota
// endpoint's answer and the walls. Pure; re-exported by protocol.ts.

import type { Behaviour } from "./protocol.ts";

/**
 * What the Z.ai-style quota endpoint (`GET <any prefix>/api/monitor/usage/quota/limit`) answers
 * a request that carries a credential. Each field left out takes its default: status 200, the
 * body of zaiQuotaBody(now) (a string body is sent as is, any other value as JSON; a status other
 * than 200 without a body gets a Z.ai-style `{code, msg, success: false}`), no delay.
 */
export interface QuotaAnswer {
  status?: number;
  body?: unknown;
  /** ms before the answer (the client may give up first) */
  delayMs?: number;
}

const HOUR_MS = 3_600_000;

/**
 * A realistic quota answer, as Z.ai's (CLAUDE-CODE-GATEWAY.md §4): the 5-hour TOKENS_LIMIT at 20 %
 * resetting in 3 h, the weekly one at 5 % in 5 days, the monthly TIME_LIMIT at 1 % in 20 days.
 */
export function zaiQuotaBody(now: number): unknown {
  return {
    code: 200,
    msg: "Operation successful",
    success: true,
    data: {
      level: "pro",
      limits: [
        { type: "TOKENS_LIMIT", unit: 3, number: 5, usage: 40_000_000, currentValue: 8_000_000, remaining: 32_000_000, percentage: 20, nextResetTime: now + 3 * HOUR_MS },
        { type: "TOKENS_LIMIT", unit: 6, number: 1, percentage: 5, nextResetTime: now + 5 * 24 * HOUR_MS },
        { type: "TIME_LIMIT", unit: 5, number: 1, usage: 1000, currentValue: 12, remaining: 988, percentage: 1, nextResetTime: now + 20 * 24 * HOUR_MS },
      ],
    },
  };
}

const WALL_TEXT = {
  "1308": "Usage limit reached for 5 hour.",
  "1310": "Weekly/Monthly Limit Exhausted.",
} as const;

/**
 * A Z.ai quota wall, as Z.ai sends it: HTTP 429 with a JSON error body. `code` 1308 is the
 * five-hour window ("Usage limit reached for 5 hour. Your limit will reset at <resetAt>"), 1310
 * the weekly or monthly one ("Weekly/Monthly Limit Exhausted. Your limit will reset at <resetAt>").
 * `resetAt` is written as given (Z.ai: "YYYY-MM-DD hh:mm:ss", China time, no zone). The code is
 * where Z.ai may put it: `form` "code": `error.code` (with `error.type` "rate_limit_error");
 * "type": `error.type`; "message": in brackets in the message, `[1308][<text>]`.
 */
export function zaiWall(code: "1308" | "1310", form: "code" | "type" | "message", resetAt: string): Behaviour {
  const text = `${WALL_TEXT[code]} Your limit will reset at ${resetAt}`;
  let error: Record<string, string>;
  if (form === "code") error = { type: "rate_limit_error", code, message: text };
  else if (form === "type") error = { type: code, message: text };
  else error = { type: "rate_limit_error", message: `[${code}][${text}]` };
  return { kind: "status", status: 429, body: { type: "error", error } };
}
