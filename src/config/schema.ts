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
  /** The request body made no progress (flow control never reopening) for this long. */
  upload_stall_ms: positiveMs.default(5_000),
});

export const RetrySchema = z.strictObject({
  /**
   * Attempts on this lane for one request, the first included (1 = never retry). Overloads
   * (burst codes, 429, 529, overloaded_error) are retried past it, within budget_ms.
   */
  attempts: z.number().int().min(1).max(20).default(4),
  /** Full-jitter exponential back-off: each wait is random in [0, min(cap, base·2ⁿ)). */
  base_ms: z.number().int().min(0).default(500),
  cap_ms: z.number().int().min(0).default(8_000),
  /** Retrying stops when the request has been in the proxy this long (also the bound on overload retries). */
  budget_ms: positiveMs.default(60_000),
  /** A retry-after longer than this is not waited out in the proxy: the answer goes to the client. */
  retry_after_max_ms: z.number().int().min(0).default(20_000),
});

/** Why a base URL is unusable, or undefined when it is fine. */
function baseUrlProblem(s: string): string | undefined {
  if (!URL.canParse(s)) return "must be an absolute URL such as https://api.anthropic.com";
  const u = new URL(s);
  if (!/^https?:$/.test(u.protocol)) return "must use https:// (or http:// for a plain HTTP/1.1 upstream)";
  if (u.username || u.password || u.search || u.hash) return "must not carry credentials, a query or a fragment";
  return undefined;
}

/** Why an allowed_origins entry is not an origin as browsers send it, or undefined. */
function originProblem(s: string): string | undefined {
  if (!URL.canParse(s) || !/^https?:$/.test(new URL(s).protocol)) return 'must be an origin such as "http://localhost:3000" (scheme, host, optional port)';
  const origin = new URL(s).origin;
  if (origin !== s) return `must be written as browsers send it: ${JSON.stringify(origin)}`;
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
    key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
      .optional(),
    /** How the lane's key is sent: x-api-key, or authorization: Bearer. */
    header: z.enum(["x-api-key", "authorization"]).default("x-api-key"),
    /** auto: HTTP/2, falling back to HTTP/1.1 for a cool-down after an HTTP/2-shaped failure. */
    transport: z.enum(["h1", "h2", "auto"]).default("h2"),
    /** anthropic: the request goes out untouched; zai / generic: Anthropic-compatible providers (rewrites apply). */
    dialect: z.enum(["anthropic", "zai", "generic"]).default("anthropic"),
    timeouts: TimeoutsSchema.default(TimeoutsSchema.parse({})),
    /** Client model glob -> upstream model name. First match wins, in file order. */
    models: z.record(z.string(), z.string().min(1)).default({}),
    /** Extra PEM CA file trusted for this lane (self-signed or corporate upstreams). */
    ca_file: z.string().min(1).optional(),
    retry: RetrySchema.default(RetrySchema.parse({})),
    /** Where the fallback policy sends this lane's requests. */
    fallback_lane: z.string().min(1).optional(),
    /** Concurrent upstream streams on this lane (0: no limit). Adapts down on burst limits, then recovers. */
    max_concurrency: z.number().int().min(0).default(0),
    /** Requests allowed to wait for a slot, and for how long. */
    queue_max: z.number().int().min(0).default(256),
    queue_timeout_ms: positiveMs.default(120_000),
    /** transport = "auto": how long the lane stays on HTTP/1.1 after an HTTP/2 failure. */
    h1_cooldown_ms: positiveMs.default(300_000),
    /** count_tokens: forward it, or answer with a local estimate (providers without the endpoint). Default: upstream for the anthropic dialect, local otherwise. */
    count_tokens: z.enum(["upstream", "local"]).optional(),
    /**
     * Where ccp reads the lane's plan use (a Z.ai-style quota endpoint, asked with the lane's key
     * at most once a minute while the lane has traffic). Default: Z.ai's for dialect = "zai"
     * lanes with a key; "" turns it off.
     */
    quota_url: z.union([z.literal(""), z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, or "" for none' })]).optional(),
    /** When the plan's answers say extra usage (overage) is being billed: allow it, warn (log once per window), or block (answer an error instead). */
    overage: z.enum(["allow", "warn", "block"]).default("warn"),
    /**
     * A client may send its requests here by naming the lane in the model (`<lane>/<upstream model>`,
     * routes bypassed). Default: true for a lane with its own key, false for a passthrough lane (a
     * client must not be able to send its credentials, an OAuth token say, to an upstream it names).
     */
    pick_by_name: z.boolean().optional(),
    /** With [cluster] redis_url: the lane's concurrency limit, adaptive limit and cool-downs are the fleet's, kept in Redis. */
    shared: z.boolean().default(false),
  })
  .refine((l) => l.auth !== "key" || l.key_env !== undefined, {
    message: 'auth = "key" needs key_env (the environment variable that holds the key)',
    path: ["key_env"],
  })
  .refine((l) => l.transport === "h1" || l.base_url.startsWith("https:"), {
    message: 'transport = "h2" or "auto" needs an https:// base_url',
    path: ["transport"],
  });

export const RouteSchema = z
  .strictObject({
    /** Glob over the client's model name: `*` any run of characters, `?` one character. */
    match: z.string().min(1),
    /** The lane (the one-lane form of `lanes`). */
    lane: z.string().min(1).optional(),
    /**
     * An ordered chain of lanes: a request goes to the first that is neither walled (its plan's
     * limit reached) nor past quota_threshold for the request's credential.
     */
    lanes: z.array(z.string().min(1)).min(1, "needs at least one lane").optional(),
    /** A lane whose plan has used this fraction of a window (0–1) is passed over while others remain. */
    quota_threshold: z.number().gt(0).max(1).default(1),
    /** Upstream model name for matching requests on the first lane; overrides its models map. */
    model: z.string().min(1).optional(),
    /** Named in usage lines (`route_name`), `ccp route` and `usage --by route`; the index names it otherwise. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "route names are letters, digits, -, _ and . (at most 64)")
      .optional(),
    // Conditions besides the model glob: all that are given must hold.
    /** true: only subagent requests (Claude Code's x-claude-code-agent-id header); false: only the main conversation's. */
    subagent: z.boolean().optional(),
    /** true: only requests that enable extended thinking (thinking.type "enabled" or "adaptive"); false: only those that do not. */
    thinking: z.boolean().optional(),
    /** Only requests whose input ccp estimates at this many tokens or more (text, tool definitions, tool_use and tool_result blocks, images). */
    min_input_tokens: z.number().int().min(1).optional(),
    /** Only requests that offer every one of these tools (a tool's name or a server tool's type, web_search_20250305 or web_search). */
    tools_include: z.array(z.string().min(1)).min(1, "needs at least one tool name").optional(),
  })
  .refine((r) => r.lane !== undefined || r.lanes !== undefined, { message: 'needs lane = "<lane>" (or lanes = ["<lane>", ...])', path: ["lane"] })
  .refine((r) => r.lane === undefined || r.lanes === undefined || r.lanes[0] === r.lane, { message: "lane and lanes both given: lane must be the first of lanes", path: ["lanes"] })
  .transform((r) => ({ ...r, lane: r.lane ?? r.lanes![0]!, lanes: r.lanes ?? [r.lane!] }));

export const RetentionSchema = z.strictObject({
  /** SQLite usage records older than this are pruned. */
  days: z.number().positive().default(30),
  /** Capture files kept; the oldest are deleted beyond this. */
  captures: z.number().int().positive().default(200),
});

/** Size-based rotation of usage.jsonl and the server log: file.1 is the newest old file. */
export const RotationSchema = z.strictObject({
  max_mb: z.number().positive().default(50),
  keep: z.number().int().min(1).max(100).default(5),
});

/** What a client may make ccp spend on one request (SECURITY.md). */
export const LimitsSchema = z.strictObject({
  /** Largest request body, in MiB (Anthropic's own limit is 32 MB); larger ones get 413 request_too_large. */
  max_body_mb: z.number().positive().max(1024).default(32),
  /** The whole request body must arrive within this long after its headers (trickling clients get 408). */
  body_timeout_ms: positiveMs.default(60_000),
  /** A connection is closed when its request head is not complete within this long, or it sits idle between requests. */
  idle_timeout_s: z.number().int().min(1).max(255).default(30),
  /**
   * JSON values in one request body (objects, arrays, strings, numbers, true, false, null); more get 413.
   * Parsing costs memory per value, not per byte. A long Claude Code conversation has a few hundred thousand at most.
   */
  max_json_nodes: z.number().int().positive().default(1_000_000),
  /** Request bodies being received and checked at once, all clients together, in MiB; a body past it gets 503 (clients retry). */
  max_inflight_body_mb: z.number().positive().default(256),
});

const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

/** A named client: one key per person or machine, so every usage line says whose request it was. */
export const ClientSchema = z.strictObject({
  /** Environment variable holding the client's key (ccp refuses to start when it is not set). */
  key_env: envVarName,
});

/** Client names are metric label values and usage fields: short, plain, and never a word ccp uses itself. */
const clientName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "client names are lower-case letters, digits, - and _ (at most 64)")
  .refine((n) => n !== "anonymous" && n !== "none", { message: 'client names "anonymous" and "none" are reserved (the proxy key\'s requests, and requests without a key)' });

/** Why a store URL is not a PostgreSQL URL ccp can use, or undefined. */
function storeUrlProblem(s: string): string | undefined {
  if (!URL.canParse(s) || !/^postgres(ql)?:$/.test(new URL(s).protocol)) return 'must be a PostgreSQL URL such as "postgres://ccp@db.lan:5432/ccp"';
  if (!new URL(s).hostname) return "must name the database server's host";
  return undefined;
}

/** The fleet's usage store: PostgreSQL instead of the local SQLite database. */
export const StoreSchema = z.strictObject({
  /** postgres://user:password@host:port/database ($CCP_DATABASE_URL wins). A secret when it holds a password. */
  url: z
    .string()
    .superRefine((s, ctx) => {
      const problem = storeUrlProblem(s);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  /** While PostgreSQL is unreachable, records wait in a local file of at most this many MiB. */
  buffer_mb: z.number().positive().max(10_240).default(64),
});

/** An instance name: the host name by default; it labels every usage line of this ccp. */
export const instanceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be a name of letters, digits, ., - and _ (at most 64), such as a host name");

/** Why a Redis URL is unusable, or undefined. Never quotes the URL: it may hold a password. */
export function redisUrlProblem(s: string): string | undefined {
  if (!URL.canParse(s)) return 'must be a URL such as "redis://host:6379" (or "rediss://" for TLS)';
  const u = new URL(s);
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") return "must use redis:// (or rediss:// for TLS)";
  if (!u.hostname) return "must name a host";
  return undefined;
}

/** Several ccp instances sharing lanes through Redis (README "Several instances sharing a key"). */
export const ClusterSchema = z.strictObject({
  /** redis://[user:password@]host:port[/db]; $CCP_REDIS_URL wins. Unset: nothing is shared. */
  redis_url: z
    .string()
    .superRefine((s, ctx) => {
      const problem = redisUrlProblem(s);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  /** How long a slot outlives its holder's last renewal (a crashed instance's slots come back after this). */
  lease_ms: z.number().int().min(1_000).default(30_000),
  /** Each Redis operation's deadline: past it the instance uses its local limiter until Redis answers again. */
  op_timeout_ms: positiveMs.default(250),
});

const settings = {
  /** 0 picks a free port (tests). */
  port: z.number().int().min(0).max(65_535).default(8082),
  /** Address to listen on. Anything but loopback needs a proxy key (SECURITY.md). */
  host: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9.:_-]+$/, "must be an IP address or a host name")
    .default("127.0.0.1"),
  /**
   * Environment variable holding the proxy key (default CCP_PROXY_KEY). Naming it here makes the key
   * mandatory: ccp refuses to start when that variable is not set.
   */
  proxy_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
    .optional(),
  /**
   * Host names ccp answers for besides IP addresses and localhost (a web page can reach ccp
   * under any name through DNS rebinding: SECURITY.md). ".example.com" allows it and its subdomains.
   */
  allowed_hosts: z
    .array(
      z
        .string()
        .regex(
          /^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/,
          "must be a host name such as ccp.example.lan (no scheme, no port), or .example.lan for a domain",
        ),
    )
    .default([]),
  /** Origins of web pages allowed to call ccp (every other page is refused: SECURITY.md). */
  allowed_origins: z
    .array(
      z.string().superRefine((s, ctx) => {
        const problem = originProblem(s);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    )
    .default([]),
  /** Named clients, each with a key of its own (`[clients.<name>]`); the proxy key stays valid as the anonymous client. */
  clients: z.record(clientName, ClientSchema).default({}),
  /** This ccp's name on every usage line (default: the host name; $CCP_INSTANCE wins). */
  instance: instanceName.optional(),
  /** Where usage records are stored when persist is on: PostgreSQL when a url is given, else SQLite. */
  store: StoreSchema.default(StoreSchema.parse({})),
  limits: LimitsSchema.default(LimitsSchema.parse({})),
  /** SQLite usage store; usage.jsonl is always written. */
  persist: z.boolean().default(true),
  fallback: z.enum(["off", "network", "any"]).default("off"),
  /** `ccp wrap` starts the proxy when it is not running, as if --start were given. */
  wrap_start: z.boolean().default(false),
  /** Diagnostics capture of request and upstream response bodies: off, failed requests only, or all. */
  capture: z.enum(["off", "errors", "all"]).default("off"),
  retention: RetentionSchema.default(RetentionSchema.parse({})),
  rotation: RotationSchema.default(RotationSchema.parse({})),
  cluster: ClusterSchema.default(ClusterSchema.parse({})),
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
    for (const [name, lane] of Object.entries(c.lanes)) {
      if (lane.fallback_lane !== undefined && !(lane.fallback_lane in c.lanes)) {
        ctx.addIssue({
          code: "custom",
          path: ["lanes", name, "fallback_lane"],
          message: `names lane "${lane.fallback_lane}", which is not defined under [lanes]`,
        });
      }
      if (lane.fallback_lane === name) ctx.addIssue({ code: "custom", path: ["lanes", name, "fallback_lane"], message: "a lane cannot fall back to itself" });
    }
    const named = new Map<string, number>();
    c.routes.forEach((r, i) => {
      if (r.name !== undefined && named.has(r.name)) ctx.addIssue({ code: "custom", path: ["routes", i, "name"], message: `"${r.name}" already names route ${named.get(r.name)}` });
      if (r.name !== undefined) named.set(r.name, named.get(r.name) ?? i);
      // A route that failed its own checks reaches here untransformed (zod still runs this refinement).
      for (const lane of r.lanes ?? []) {
        if (!(lane in c.lanes)) ctx.addIssue({ code: "custom", path: ["routes", i, "lanes"], message: `names lane "${lane}", which is not defined under [lanes]` });
      }
    });
  });

export type Timeouts = z.infer<typeof TimeoutsSchema>;
export type RetrySettings = z.infer<typeof RetrySchema>;
export type LaneSettings = z.infer<typeof LaneSchema>;
export type Route = z.infer<typeof RouteSchema>;
export type ConfigFile = z.infer<typeof ConfigSchema>;
export type Retention = z.infer<typeof RetentionSchema>;
export type Rotation = z.infer<typeof RotationSchema>;
export type Limits = z.infer<typeof LimitsSchema>;
export { storeUrlProblem };
export type ClusterSettings = z.infer<typeof ClusterSchema>;
