/** The config file from the core issue, exactly as written there: it must keep working. */
export const ISSUE_CONFIG = `port = 8082
persist = true            # SQLite usage store (usage.jsonl is always written)
fallback = "off"          # "off" | "network" | "any"

[lanes.anthropic]
base_url = "https://api.anthropic.com"
auth = "passthrough"      # forward the client's x-api-key / authorization untouched
transport = "h2"          # "h1" | "h2" (| "auto" once resilience lands)

[lanes.zai]
base_url = "https://api.z.ai/api/anthropic"
auth = "key"              # inject the lane's own key, drop the client's credentials
key_env = "ZAI_API_KEY"   # environment variable that holds the key
header = "x-api-key"      # or "authorization" (sent as Bearer)
transport = "h1"
dialect = "zai"
timeouts = { connect_ms = 5000, tls_ms = 5000, headers_ms = 300000, idle_ms = 120000 }
models = { "claude-haiku-*" = "glm-4.5-air" }   # optional client-model -> upstream-model map

[[routes]]
match = "claude-haiku-*"
lane = "zai"

[[routes]]
match = "*"
lane = "anthropic"

[profiles.dev]            # overlays any key above; chosen by --profile / $CCP_PROFILE
persist = false
lanes.zai.transport = "h1"
`;
