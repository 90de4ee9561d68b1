import http from "node:http";
import https from "node:https";
import { hostPort } from "../config/access.ts";

/** How this machine reaches an instance listening on `host`: a wildcard address is dialled on loopback. */
export function dialHost(host: string): string {
  return host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
}

/** The base URL of the instance listening on host:port, as a client on this machine uses it (IPv6 in brackets). */
export function instanceUrl(host: string, port: number): string {
  return `http://${hostPort(dialHost(host), port)}`;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface HttpOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
}

/**
 * One request, read whole, always direct. Bun's fetch sends even loopback requests through
 * $HTTP_PROXY, and the operators who need ccp are the ones who have it set; ccp's own
 * transports dial directly too, so the checks here see what the proxy sees.
 */
export function httpRequest(url: string, o: HttpOptions): Promise<HttpAnswer> {
  const u = new URL(url);
  const lib = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: o.method ?? "GET",
        headers: { ...o.headers, ...(o.body !== undefined ? { "content-length": String(Buffer.byteLength(o.body)) } : {}) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
        });
        res.on("error", fail);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no complete answer within ${o.timeoutMs} ms`)), o.timeoutMs);
    function fail(e: Error) {
      clearTimeout(timer);
      reject(e);
    }
    req.on("error", fail);
    req.end(o.body);
  });
}

/** A header's single value. */
export const header = (a: HttpAnswer, name: string): string | undefined => {
  const v = a.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
