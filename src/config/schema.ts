import { z } from "zod";

/**
 * The single source of truth for ccp's configuration and its types.
 * Keys are snake_case as operators write them in TOML.
 */

const positiveMs = z.number().int().positive();

export const TimeoutsSchema = z.strictObject({
  /** TCP connect. */
  connect_ms: positiveMs.default(5_000),
  /** TLS handshake, after TCP connect. */
  tls_ms: positiveMs.default(5_000),
  /** Response headers after the request is sent. Generous: large GLM contexts take minutes (PROTOCOL.md). */
  headers_ms: positiveMs.default(300_000),
  /** Silence between two body chunks once the response has started. */
  idle_ms: positiveMs.default(120_000),
  /** HTTP/2: a session with streams waiting that has received nothing for this long is sent a PING. */
  ping_after_ms: positiveMs.default(5_000),
  /** HTTP/2: no PING answer within this long means the session is dead. */
  ping_timeout_ms: positiveMs.default(3_000),
});

/** Why a base URL is unusable, or undefined when it is fine. */
function baseUrlProblem(s: string): string | undefined {
  if (!URL.canParse(s)) return "must be an absolute URL such as https://api.anthropic.com";
  const u = new URL(s);
  if (!/^https?:$/.test(u.protocol)) return "must use https:// (or http:// for a plain HTTP/1.1 upstream)";
  if (u.username || u.password || u.search || u.hash) return "must not carry credentials, a query or a fragment";
  return undefined;
}

const baseUrl = z.string().superRefine((s, ctx) => {
  const problem = baseUrlProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const LaneSchema = z
  .strictObject({
    base_url: baseUrl,
    /** passthrough: forward the client's x-api-key / authorization untouched; key: inject the lane's own key. */
    auth: z.enum(["passthrough", "key"]).default("passthrough"),
    /** Environment variable holding the lane's key (auth = "key"). */
    key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name").optional(),
    /** How the lane's key is sent: x-api-key, or authorization: Bearer. */
    header: z.enum(["x-api-key", "authorization"]).default("x-api-key"),
    transport: z.enum(["h1", "h2"]).default("h2"),
    /** anthropic: the request goes out untouched; zai / generic: Anthropic-compatible providers (rewrites apply). */
    dialect: z.enum(["anthropic", "zai", "generic"]).default("anthropic"),
    timeouts: TimeoutsSchema.default(TimeoutsSchema.parse({})),
    /** Client model glob -> upstream model name. First match wins, in file order. */
    models: z.record(z.string(), z.string().min(1)).default({}),
    /** Extra PEM CA file trusted for this lane (self-signed or corporate upstreams). */
    ca_file: z.string().min(1).optional(),
  })
  .refine((l) => l.auth !== "key" || l.key_env !== undefined, {
    message: 'auth = "key" needs key_env (the environment variable that holds the key)',
    path: ["key_env"],
  })
  .refine((l) => l.transport !== "h2" || l.base_url.startsWith("https:"), {
    message: 'transport = "h2" needs an https:// base_url',
    path: ["transport"],
  });

export const RouteSchema = z.strictObject({
  /** Glob over the client's model name: `*` any run of characters, `?` one character. */
  match: z.string().min(1),
  lane: z.string().min(1),
  /** Upstream model name for matching requests; overrides the lane's models map. */
  model: z.string().min(1).optional(),
});

const settings = {
  /** 0 picks a free port (tests). */
  port: z.number().int().min(0).max(65_535).default(8082),
  host: z.string().min(1).default("127.0.0.1"),
  /** SQLite usage store; usage.jsonl is always written. */
  persist: z.boolean().default(true),
  fallback: z.enum(["off", "network", "any"]).default("off"),
  lanes: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "lane names are lower-case letters, digits, - and _"), LaneSchema),
  routes: z.array(RouteSchema).min(1, "needs at least one [[routes]] entry"),
} as const;

export const ConfigSchema = z
  .strictObject({
    ...settings,
    /** Named overlays of any key above, chosen by --profile or $CCP_PROFILE. Checked after they are applied. */
    profiles: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  })
  .superRefine((c, ctx) => {
    c.routes.forEach((r, i) => {
      if (!(r.lane in c.lanes)) {
        ctx.addIssue({ code: "custom", path: ["routes", i, "lane"], message: `names lane "${r.lane}", which is not defined under [lanes]` });
      }
    });
  });

export type Timeouts = z.infer<typeof TimeoutsSchema>;
export type LaneSettings = z.infer<typeof LaneSchema>;
export type Route = z.infer<typeof RouteSchema>;
export type ConfigFile = z.infer<typeof ConfigSchema>;
