import { dialHost, httpRequest, instanceUrl } from "./local-http.ts";

/** Asks an instance's /healthz; true only for a ccp answering 200. */
export async function isHealthy(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  try {
    const res = await httpRequest(`${instanceUrl(host, port)}/healthz`, { timeoutMs });
    if (res.status !== 200) return false;
    const body = JSON.parse(res.body) as { service?: unknown };
    return body.service === "ccp";
  } catch {
    return false;
  }
}

/** True when something accepts TCP connections on the port. */
export async function isPortBusy(host: string, port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: dialHost(host), port, socket: { data() {}, error() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

export async function waitHealthy(host: string, port: number, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isHealthy(host, port)) return true;
    if (!alive()) return false;
    await Bun.sleep(100);
  }
  return false;
}
