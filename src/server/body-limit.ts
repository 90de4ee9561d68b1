import type { Limits } from "../config/schema.ts";

export type BodyRead =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | {
      readonly ok: false;
      /** 413, 415, 408, 400; 499 when the client went away mid-body. */
      readonly status: number;
      readonly errType: string;
      readonly message: string;
      /** The rest of the body is unread and of unknown length: the connection cannot be reused. */
      readonly close: boolean;
      /** Refused for now, not for what it is: the client may send it again after this many seconds. */
      readonly retryAfterS?: number;
    };

/**
 * Asked before a body's bytes are held (a declared length at once, a chunked body chunk by
 * chunk): false refuses the body, because the budget all clients share is spent.
 */
export type Reserve = (bytes: number) => boolean;

const MIB = 1024 * 1024;

export const maxBodyBytes = (limits: Pick<Limits, "max_body_mb">): number => Math.floor(limits.max_body_mb * MIB);

const fail = (status: number, errType: string, message: string, close = false, retryAfterS?: number): BodyRead => ({
  ok: false,
  status,
  errType,
  message,
  close,
  retryAfterS,
});

/**
 * Why a request body cannot be a Messages body, judged from its headers alone. A body we
 * would misread (compressed, another media type or charset) is refused before it is read.
 */
export function bodyHeadersProblem(headers: Headers, limit: number): BodyRead | undefined {
  const encoding = headers.get("content-encoding");
  if (encoding !== null && encoding.trim().toLowerCase() !== "identity") {
    return fail(415, "invalid_request_error", `content-encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported: send the JSON body uncompressed`);
  }
  const type = headers.get("content-type");
  // Every client of the Messages API says what it sends. A body without a type is what a web
  // page can post to ccp without asking the browser first (no-cors fetch, sendBeacon): refused.
  if (type === null) return fail(415, "invalid_request_error", "content-type: application/json is required");
  const [media = "", ...params] = type.split(";").map((p) => p.trim().toLowerCase());
  if (media !== "application/json") {
    return fail(415, "invalid_request_error", `content-type must be application/json (got ${JSON.stringify(type.slice(0, 80))})`);
  }
  const charset = params
    .find((p) => p.startsWith("charset="))
    ?.slice(8)
    .replace(/"/g, "");
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    return fail(415, "invalid_request_error", `the body must be UTF-8 (got charset ${JSON.stringify(charset.slice(0, 40))})`);
  }
  const declared = headers.get("content-length");
  if (declared !== null && Number(declared) > limit) return tooLarge(limit, Number(declared));
  return undefined;
}

const tooLarge = (limit: number, seen?: number) =>
  // Known from content-length: the server discards the declared rest, the connection stays usable.
  fail(
    413,
    "request_too_large",
    `request body is larger than ccp's limit of ${formatBytes(limit)}${seen ? ` (content-length ${seen})` : ""}; raise limits.max_body_mb to allow it`,
    seen === undefined,
  );

/** Bodies received while others are: clients retry a 503 (Anthropic's SDKs and Claude Code retry every 5xx). */
const busy = (close: boolean): BodyRead => fail(503, "api_error", "ccp is receiving and checking as many request bodies as limits.max_inflight_body_mb allows; retry the request", close, 1);

const timeoutFail = (ms: number) => fail(408, "timeout_error", `the request body did not arrive within ${ms} ms (limits.body_timeout_ms)`, true);

function formatBytes(n: number): string {
  return n >= MIB ? `${Math.round((n / MIB) * 10) / 10} MiB` : `${n} bytes`;
}

/**
 * Reads a request body holding at most `limit` bytes: a declared length over it is refused
 * unread, and a chunked body is read as a stream whose first chunk past it ends the read with
 * 413 (nothing more is buffered). The whole body must arrive
 * within `timeoutMs` (a trickling client gets 408). The body is checked against its headers
 * first (bodyHeadersProblem), so a declared oversize body is refused without reading any of it.
 * `reserve` is asked before bytes are held; when it says no, the body gets 503 (a declared
 * one unread).
 */
export async function readBodyBounded(req: Request, limits: Pick<Limits, "max_body_mb" | "body_timeout_ms">, reserve: Reserve = () => true): Promise<BodyRead> {
  const limit = maxBodyBytes(limits);
  const early = bodyHeadersProblem(req.headers, limit);
  if (early) return early;
  const declared = Number(req.headers.get("content-length") ?? Number.NaN);
  // A declared length within the limit: Bun reads exactly that many bytes natively (no chunk
  // round-trips through JavaScript), under the same deadline.
  if (Number.isSafeInteger(declared) && declared >= 0) {
    if (!reserve(declared)) return busy(false);
    return readDeclared(req, limits.body_timeout_ms);
  }
  if (req.body === null) return { ok: true, bytes: new Uint8Array(0) };
  // Otherwise (chunked) the stream is read piece by piece and cut at the limit.
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void reader.cancel().catch(() => {});
  }, limits.body_timeout_ms);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (timedOut) return timeoutFail(limits.body_timeout_ms);
      if (done) break;
      if (size + value.byteLength > limit) {
        void reader.cancel().catch(() => {});
        return tooLarge(limit);
      }
      if (!reserve(value.byteLength)) {
        void reader.cancel().catch(() => {});
        return busy(true);
      }
      parts.push(value);
      size += value.byteLength;
    }
  } catch {
    if (timedOut) return timeoutFail(limits.body_timeout_ms);
    return fail(499, "client_abort", "the request body could not be read (the client went away)", true);
  } finally {
    clearTimeout(timer);
  }
  return { ok: true, bytes: parts.length === 1 ? parts[0]! : new Uint8Array(Bun.concatArrayBuffers(parts)) };
}

/** A body of declared length (already checked against the limit), read whole within the deadline. */
async function readDeclared(req: Request, timeoutMs: number): Promise<BodyRead> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
  const read = req.bytes();
  try {
    const bytes = await Promise.race([read, deadline]);
    if (bytes === "timeout") {
      read.catch(() => {}); // settles when the connection closes after the 408
      return timeoutFail(timeoutMs);
    }
    return { ok: true, bytes };
  } catch {
    return fail(499, "client_abort", "the request body could not be read (the client went away)", true);
  } finally {
    clearTimeout(timer);
  }
}
