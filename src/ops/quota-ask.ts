import { httpRequest, instanceUrl } from "./local-http.ts";
import type { QuotaBody } from "./quota-body.ts";

/**
 * What GET /quota says: the plans' standing; a refusal for want of the proxy key; a server
 * without the endpoint (404: a ccp started before quota awareness, or not a ccp); or nothing.
 */
export type QuotaAnswer = { readonly kind: "running"; readonly body: QuotaBody; readonly text: string } | { readonly kind: "refused" } | { readonly kind: "no-endpoint" } | { readonly kind: "none" };

export interface QuotaAsk {
  /** The client model id (GET /quota?model=): the answer then says where that model goes now. */
  readonly model?: string | undefined;
  /** The proxy key, sent as x-ccp-key. */
  readonly key?: string | undefined;
  readonly timeoutMs: number;
}

/** The path of GET /quota, with the model when one is given. */
export const quotaPath = (model: string | undefined) => (model ? `/quota?model=${encodeURIComponent(model)}` : "/quota");

/** Asks a ccp for GET /quota; never throws, never waits past the timeout. */
export async function askQuota(host: string, port: number, o: QuotaAsk): Promise<QuotaAnswer> {
  try {
    const res = await httpRequest(`${instanceUrl(host, port)}${quotaPath(o.model)}`, { timeoutMs: o.timeoutMs, headers: o.key ? { "x-ccp-key": o.key } : {} });
    if (res.status === 200) {
      const body = JSON.parse(res.body) as Partial<QuotaBody>;
      return body.service === "ccp" && Array.isArray(body.plans) ? { kind: "running", body: body as QuotaBody, text: res.body } : { kind: "none" };
    }
    if (res.status === 401) return { kind: "refused" };
    if (res.status === 404) return { kind: "no-endpoint" };
  } catch {
    // nothing answers, too slowly, or not HTTP / JSON
  }
  return { kind: "none" };
}

/** The proxy key `ccp wrap` hands Claude Code in ANTHROPIC_CUSTOM_HEADERS (newline-separated `Name: Value` lines). */
export function keyFromCustomHeaders(headers: string | undefined): string | undefined {
  for (const line of (headers ?? "").split("\n")) {
    const m = /^\s*x-ccp-key\s*:\s*(.*?)\s*$/i.exec(line);
    if (m?.[1]) return m[1];
  }
  return undefined;
}
