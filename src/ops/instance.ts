import { readEnv } from "../config/env.ts";
import type { StatusBody } from "./status-body.ts";
import { isHealthy } from "./health.ts";
import { httpRequest, instanceUrl } from "./local-http.ts";
import { proxyKeyEnvFor } from "./shell-env.ts";
import { listStates } from "./state-file.ts";

/** What GET /status says: a ccp's status, a ccp that wants the proxy key, or no ccp at all. */
export type StatusAnswer = { readonly kind: "running"; readonly body: StatusBody } | { readonly kind: "needs-key"; readonly keySent: boolean } | { readonly kind: "none" };

/**
 * Asks a running ccp for GET /status. A keyed instance answers it only with its proxy key
 * (SECURITY.md): the config's proxy_key_env (else $CCP_PROXY_KEY) is sent when it is set here.
 * Refused, it is still a running ccp when /healthz (open to all) says so.
 */
export async function askStatus(host: string, port: number, timeoutMs = 2_000): Promise<StatusAnswer> {
  const key = proxyKeyHere();
  try {
    const res = await httpRequest(`${instanceUrl(host, port)}/status`, { timeoutMs, headers: key ? { "x-ccp-key": key } : {} });
    if (res.status === 200) {
      const body = JSON.parse(res.body) as Partial<StatusBody>;
      return body.service === "ccp" ? { kind: "running", body: body as StatusBody } : { kind: "none" };
    }
    if (res.status === 401 && (await isHealthy(host, port, timeoutMs))) return { kind: "needs-key", keySent: key !== undefined };
  } catch {
    // nothing answers, or not HTTP
  }
  return { kind: "none" };
}

/** The proxy key this environment holds for a keyed ccp: the config's proxy_key_env, else $CCP_PROXY_KEY; undefined when unset. */
export function proxyKeyHere(env = readEnv().all): string | undefined {
  const keyEnv = proxyKeyEnvFor(env);
  return keyEnv ? env[keyEnv] : undefined;
}

/** The running ccp's status; undefined when nothing, no ccp, or a ccp that wants a key we lack answers. */
export async function fetchStatus(host: string, port: number, timeoutMs = 2_000): Promise<StatusBody | undefined> {
  const answer = await askStatus(host, port, timeoutMs);
  return answer.kind === "running" ? answer.body : undefined;
}

/** What to tell a user whose ccp refused /status: what it did ("it …"), and what to do. */
export function keyNeeded(keySent: boolean): { readonly what: string; readonly hint: string } {
  return keySent
    ? { what: "refused the proxy key sent from this environment", hint: "export the key the proxy was started with (its proxy_key_env, else CCP_PROXY_KEY)" }
    : { what: "asks for its proxy key", hint: "export the key it was started with (its proxy_key_env, else CCP_PROXY_KEY) in this shell; clients need it too" };
}

export type PortChoice = { readonly kind: "port"; readonly port: number; readonly why: "option" | "single-instance" | "config" } | { readonly kind: "ambiguous"; readonly ports: readonly number[] };

/**
 * Which instance a command means: the port given; else the one healthy instance recorded
 * under $CCP_HOME/run; else the config's port. Several healthy instances and no port is ambiguous.
 */
export async function choosePort(o: { explicit: number | undefined; home: string; host: string; configPort: number }): Promise<PortChoice> {
  if (o.explicit !== undefined) return { kind: "port", port: o.explicit, why: "option" };
  const states = listStates(o.home);
  const healthy: number[] = [];
  for (const s of states) if (await isHealthy(s.host, s.port)) healthy.push(s.port);
  if (healthy.length === 1) return { kind: "port", port: healthy[0]!, why: "single-instance" };
  if (healthy.length > 1 && !healthy.includes(o.configPort)) return { kind: "ambiguous", ports: healthy };
  return { kind: "port", port: o.configPort, why: "config" };
}
