// The Z.ai-style quota endpoint: GET <any prefix>/api/monitor/usage/quota/limit, answered as
// POST /quota set (protocol.ts, QuotaAnswer). Runs under Node.

import type { IncomingHttpHeaders } from "node:http";

import { type QuotaAnswer, type RecordedRequest, zaiQuotaBody } from "./protocol.ts";

/** The endpoint's path, under any prefix ("/zai/api/monitor/usage/quota/limit" too). */
export const QUOTA_PATH = /\/api\/monitor\/usage\/quota\/limit\/?$/;

let answer: QuotaAnswer = {};

export function setQuota(a: QuotaAnswer): void {
  answer = { ...a };
}

export function resetQuota(): void {
  answer = {};
}

/** The key the request carries: `authorization` (raw, as Z.ai's plugin sends it, or `Bearer <key>`), else `x-api-key`. */
export function quotaCredential(headers: IncomingHttpHeaders): string {
  const auth = String(headers.authorization ?? "").trim();
  // "Bearer" alone (an empty token; the value arrives trimmed) is no key.
  const bearer = /^Bearer(?:\s+(.*))?$/i.exec(auth);
  const key = (bearer ? (bearer[1] ?? "") : auth).trim();
  return key || String(headers["x-api-key"] ?? "").trim();
}

interface Res {
  readonly destroyed?: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(chunk?: string | Uint8Array): unknown;
  once(event: "close", fn: () => void): unknown;
}

function send(res: Res, status: number, body: unknown): void {
  const buf = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  res.writeHead(status, { "content-type": "application/json", "content-length": String(buf.length) });
  res.end(buf);
}

/** Wait ms, or less if the client goes away first; true when it is still there. */
function waitFor(res: Res, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    let closed = false;
    res.once("close", () => {
      closed = true;
      resolve(false);
    });
    setTimeout(() => resolve(!closed && res.destroyed !== true), ms);
  });
}

/** Answer one request to the quota endpoint; records it as "quota" (or "quota_unauthorized": no credential, 401). */
export async function answerQuota(req: { headers: IncomingHttpHeaders; resume(): unknown }, res: Res, record: RecordedRequest): Promise<void> {
  req.resume();
  if (!quotaCredential(req.headers)) {
    record.behaviour = "quota_unauthorized";
    send(res, 401, { code: 1001, msg: "Authorization header missing, cannot authenticate (fake upstream)", success: false });
    return;
  }
  record.behaviour = "quota";
  const a = answer;
  if (a.delayMs && a.delayMs > 0 && !(await waitFor(res, a.delayMs))) return;
  const status = a.status ?? 200;
  let body = a.body;
  if (body === undefined) body = status === 200 ? zaiQuotaBody(Date.now()) : { code: status, msg: `Quota query failed (fake upstream, HTTP ${status})`, success: false };
  send(res, status, body);
}
