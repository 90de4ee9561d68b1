/**
 * The configuration used when no file exists: everything to Anthropic with the
 * client's own credentials, and Haiku to Z.ai when ZAI_API_KEY is set.
 */
export const ZAI_KEY_ENV = "ZAI_API_KEY";

export function defaultRawConfig(hasZaiKey: boolean): Record<string, unknown> {
  const lanes: Record<string, unknown> = {
    anthropic: { base_url: "https://api.anthropic.com", auth: "passthrough", transport: "h2" },
  };
  const routes: unknown[] = [];
  if (hasZaiKey) {
    lanes.zai = {
      base_url: "https://api.z.ai/api/anthropic",
      auth: "key",
      key_env: ZAI_KEY_ENV,
      header: "x-api-key",
      transport: "h1",
      dialect: "zai",
    };
    routes.push({ match: "claude-haiku-*", lane: "zai" });
  }
  routes.push({ match: "*", lane: "anthropic" });
  return { lanes, routes };
}
