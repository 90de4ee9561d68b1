import type { Limits } from "../config/schema.ts";
import { readBodyBounded } from "./body-limit.ts";
import type { ServerContext } from "./context.ts";
import { parseMessagesBody, type ParsedBody } from "./request-body.ts";

export type MessagesBodyRead =
  | { readonly ok: true; readonly bytes: Uint8Array; readonly body: ParsedBody }
  | {
      readonly ok: false;
      /** 400, 408, 413, 415; 499 when the client went away mid-body. */
      readonly status: number;
      readonly errType: string;
      readonly message: string;
      /** For the answer: connection: close when the body was left unread. */
      readonly headers: Readonly<Record<string, string>>;
    };

/**
 * A request's Messages body, read and checked within what a client may make ccp spend:
 * limits.max_body_mb bytes, limits.body_timeout_ms, and limits.max_json_nodes JSON values.
 */
export function readMessagesBody(req: Request, ctx: Pick<ServerContext, "config">): Promise<MessagesBodyRead> {
  return readChecked(req, ctx.config.limits);
}

export async function readChecked(req: Request, limits: Limits): Promise<MessagesBodyRead> {
  const read = await readBodyBounded(req, limits);
  if (!read.ok) return { ok: false, status: read.status, errType: read.errType, message: read.message, headers: read.close ? { connection: "close" } : {} };
  const check = parseMessagesBody(read.bytes, limits.max_json_nodes);
  if (!check.ok) return { ok: false, status: check.status, errType: check.errType, message: check.message, headers: {} };
  return { ok: true, bytes: read.bytes, body: check.body };
}
