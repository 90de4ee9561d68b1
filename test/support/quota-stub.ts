import type { QuotaBody } from "../../src/ops/quota-body.ts";
import type { StatusBody } from "../../src/ops/status-body.ts";

/**
 * A stand-in for a running ccp that answers GET /healthz, /status and /quota with fixed
 * bodies, for the CLI's quota commands (test/e2e/cli-quota.test.ts) and for timing
 * `ccp statusline` by hand (`bun test/support/quota-stub.ts` prints its port).
 */
export const NOW = 1_800_000_000_000;
const MIN = 60_000;

export const QUOTA: QuotaBody = {
  service: "ccp",
  now: NOW,
  plans: [
    {
      lane: "zai",
      dialect: "zai",
      credential: "lane",
      state: "ok",
      windows: [
        { window: "5h", utilization: 0.42, resets_at: NOW + 130 * MIN, status: "allowed", source: "endpoint", read_at: NOW - 12_000 },
        { window: "7d", utilization: 0.13, resets_at: NOW + (4 * 24 + 3) * 60 * MIN, status: "allowed", source: "endpoint", read_at: NOW - 12_000 },
      ],
      wall: null,
      overage: null,
      overage_setting: "allow",
      poll: "ok",
      requests: 120,
      errors: 0,
    },
    {
      lane: "anthropic",
      dialect: "anthropic",
      credential: "client:3f9a0c1b2d4e",
      state: "walled",
      windows: [{ window: "5h", utilization: 1.02, resets_at: NOW + 45 * MIN, status: "rejected", source: "headers", read_at: NOW - 90_000 }],
      wall: { window: "5h", resets_at: NOW + 45 * MIN, code: "rejected" },
      overage: { in_use: true, status: "allowed", utilization: 0.12, resets_at: null },
      overage_setting: "warn",
      poll: "none",
      requests: 40,
      errors: 2,
    },
    {
      lane: "backup",
      dialect: "zai",
      credential: "none",
      state: "ok",
      windows: [],
      wall: null,
      overage: null,
      overage_setting: "allow",
      poll: "failing",
      requests: 0,
      errors: 0,
    },
  ],
};

/** The route each model gets: haiku to zai; sonnet rerouted from the walled anthropic lane to zai; opus walled everywhere. */
export function quotaFor(model: string | null): QuotaBody {
  if (model === null) return QUOTA;
  const chain = (lanes: string[], lane: string | null, from: string | null) => ({
    model,
    lanes,
    lane,
    rerouted_from: from,
    reason: from ? ("quota_wall" as const) : null,
    quota_threshold: 0.95,
  });
  const route = model.includes("haiku")
    ? chain(["zai"], "zai", null)
    : model.includes("sonnet")
      ? chain(["anthropic", "zai"], "zai", "anthropic")
      : model.includes("opus")
        ? chain(["anthropic"], null, null)
        : undefined;
  return { ...QUOTA, route };
}

export const STATUS: StatusBody = {
  service: "ccp",
  pid: 4242,
  host: "127.0.0.1",
  port: 0,
  profile: "default",
  config: null,
  usage_log: "/tmp/usage.jsonl",
  started_at: new Date(NOW).toISOString(),
  uptime_s: 75,
  persist: false,
  fallback: "off",
  requests: 160,
  errors: 2,
  inflight: 0,
  lanes: [
    { name: "zai", transport: "h1", protocol: "h1", base_url: "https://api.z.ai/api/anthropic", dialect: "zai", auth: "key", credentials: "present", requests: 120, errors: 0 },
    { name: "anthropic", transport: "h2", protocol: "h2", base_url: "https://api.anthropic.com", dialect: "anthropic", auth: "client", credentials: "client", requests: 40, errors: 2 },
  ],
};

export interface QuotaStub {
  readonly port: number;
  /** Paths (with query) asked so far. */
  readonly asked: string[];
  stop(): void;
}

export interface QuotaStubOptions {
  /** Answer everything but /healthz with 401 unless x-ccp-key is this. */
  readonly key?: string;
  /** Answer /quota with 404 (a ccp from before quota awareness). */
  readonly noQuota?: boolean;
  /** Hold /quota's answer this long. */
  readonly quotaDelayMs?: number;
}

export function startQuotaStub(o: QuotaStubOptions = {}): QuotaStub {
  const asked: string[] = [];
  const server: Bun.Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req): Promise<Response> {
      const url = new URL(req.url);
      asked.push(url.pathname + url.search);
      if (url.pathname === "/healthz") return Response.json({ status: "ok", service: "ccp" });
      if (o.key !== undefined && req.headers.get("x-ccp-key") !== o.key) return Response.json({ type: "error" }, { status: 401 });
      if (url.pathname === "/status") return Response.json({ ...STATUS, port: server.port });
      if (url.pathname === "/quota" && !o.noQuota) {
        if (o.quotaDelayMs) await Bun.sleep(o.quotaDelayMs);
        return Response.json(quotaFor(url.searchParams.get("model")));
      }
      return Response.json({ type: "error" }, { status: 404 });
    },
  });
  return { port: server.port!, asked, stop: () => server.stop(true) };
}

if (import.meta.main) {
  const stub = startQuotaStub();
  console.log(stub.port);
}
