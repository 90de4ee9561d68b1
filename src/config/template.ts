/** What `ccp config init` writes: a commented, valid starting point. */
export const CONFIG_TEMPLATE = `# ccp configuration. Validate with: ccp config check
# Effective settings (after --profile and environment overrides): ccp config show

port = 8082               # 127.0.0.1:<port>; --port wins
persist = true            # SQLite usage store (usage.jsonl is always written)
fallback = "off"          # "off" | "network" | "any": may a failed request move to another lane?

# A lane is one upstream. Anthropic with the client's own credentials (API key or
# subscription login), over HTTP/2.
[lanes.anthropic]
base_url = "https://api.anthropic.com"
auth = "passthrough"      # forward the client's x-api-key / authorization untouched
transport = "h2"          # "h1" | "h2" | "auto" (HTTP/2, HTTP/1.1 for a while after an HTTP/2 failure)

# Z.ai's GLM with the lane's own key, read from the variable named by key_env.
[lanes.zai]
base_url = "https://api.z.ai/api/anthropic"
auth = "key"              # inject the lane's key, drop the client's credentials
key_env = "ZAI_API_KEY"   # export ZAI_API_KEY=... before ccp start
header = "x-api-key"      # or "authorization" (sent as Bearer)
transport = "h1"          # HTTP/1.1: Z.ai's HTTP/2 has stalled in the field
# transport = "auto"      # instead of the line above: HTTP/2, and HTTP/1.1 for h1_cooldown_ms after it fails
dialect = "zai"
timeouts = { connect_ms = 5000, tls_ms = 5000, headers_ms = 300000, idle_ms = 120000 }
models = { "claude-haiku-*" = "glm-4.5-air" }   # client model glob -> upstream model

# Routes: the first whose match fits the client's model picks the lane.
[[routes]]
match = "claude-haiku-*"
lane = "zai"

[[routes]]
match = "*"
lane = "anthropic"

# Profiles overlay any key above; choose one with --profile or $CCP_PROFILE.
[profiles.dev]
persist = false
`;
