import { readEnv } from "../config/env.ts";
import type { StatusBody } from "../server/status.ts";
import { isHealthy } from "./health.ts";
import { httpRequest } from "./local-http.ts";
import { proxyKeyEnvFor } from "./shell-env.ts";
import { listStates } from "./state-file.ts";

/** Asks a running ccp for GET /status; undefined when nothing (or no ccp) answers. */
export async function fetchStatus(host: string, port: number, timeoutMs = 2_000): Promise<StatusBody | undefined> {
  try {
    // A keyed instance answers /status only with its proxy key (SECURITY.md): the config's
    // proxy_key_env (else $CCP_PROXY_KEY) is sent when it is set here.
    const env = readEnv().all;
    const keyEnv = proxyKeyEnvFor(env);
    const key = keyEnv ? env[keyEnv] : undefined;
    const res = await httpRequest(`http://${host}:${port}/status`, { timeoutMs, headers: key ? { "x-ccp-key": key } : {} });
    if (res.status !== 200) return undefined;
    const body = JSON.parse(res.body) as Partial<StatusBody>;
    return body.service === "ccp" ? (body as StatusBody) : undefined;
  } catch {
    return undefined;
  }
}

export type PortChoice =
  | { readonly kind: "port"; readonly port: number; readonly why: "option" | "single-instance" | "config" }
  | { readonly kind: "ambiguous"; readonly ports: readonly number[] };

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
