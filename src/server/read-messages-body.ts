import type { Limits } from "../config/schema.ts";
import { bodyBudgetOf, type BodyBudget } from "./body-budget.ts";
import { readBodyBounded } from "./body-limit.ts";
import type { ServerContext } from "./context.ts";
import { parseMessagesBody, type ParsedBody } from "./request-body.ts";

export type MessagesBodyRead =
  | { readonly ok: true; readonly bytes: Uint8Array; readonly body: ParsedBody }
  | {
      readonly ok: false;
      /** 400, 408, 413, 415, 503; 499 when the client went away mid-body. */
      readonly status: number;
      readonly errType: string;
      readonly message: string;
      /** For the answer: connection: close when the body was left unread, retry-after for a 503. */
      readonly headers: Readonly<Record<string, string>>;
    };

/**
 * A request's Messages body, read and checked within what a client may make ccp spend:
 * limits.max_body_mb bytes, limits.body_timeout_ms, limits.max_json_nodes JSON values, and a
 * share of limits.max_inflight_body_mb, the bytes of all bodies being read and checked at once.
 */
export function readMessagesBody(req: Request, ctx: Pick<ServerContext, "config" | "live">): Promise<MessagesBodyRead> {
  return readChecked(req, ctx.config.limits, bodyBudgetOf(ctx.live, ctx.config.limits));
}

/** readMessagesBody with its budget passed in. The body's bytes are given back once it is checked, however that ends. */
export async function readChecked(req: Request, limits: Limits, budget: BodyBudget): Promise<MessagesBodyRead> {
  let held = 0;
  const reserve = (bytes: number) => {
    if (!budget.take(bytes)) return false;
    held += bytes;
    return true;
  };
  try {
    const read = await readBodyBounded(req, limits, reserve);
    if (!read.ok) {
      const headers: Record<string, string> = {};
      if (read.close) headers.connection = "close";
      if (read.retryAfterS !== undefined) headers["retry-after"] = String(read.retryAfterS);
      return { ok: false, status: read.status, errType: read.errType, message: read.message, headers };
    }
    const check = parseMessagesBody(read.bytes, limits.max_json_nodes);
    if (!check.ok) return { ok: false, status: check.status, errType: check.errType, message: check.message, headers: {} };
    return { ok: true, bytes: read.bytes, body: check.body };
  } finally {
    budget.give(held);
  }
}
