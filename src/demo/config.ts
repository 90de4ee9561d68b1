/**
 * The demo's configuration: one lane, `demo`, pointed at the simulator, that every model routes
 * to, under the profile `demo`. Written into the demo's own state directory, never the user's.
 * Pure.
 */
export const DEMO_LANE = "demo";
export const DEMO_PROFILE = "demo";
export const DEMO_KEY_ENV = "CCP_DEMO_KEY";
/**
 * The lane's key: not a secret (the simulator takes any). With `auth = "key"`, ccp drops the
 * client's own credentials, so a real key or subscription token never reaches the simulator.
 */
export const DEMO_KEY = "ccp-demo-key-not-a-secret";
/** The port the demo listens on unless told: ccp's usual one. */
export const DEMO_PORT = 8082;

export function demoConfigToml(port: number, upstreamUrl: string): string {
  return `# ccp demo: a simulated upstream on loopback; nothing reaches a provider.
port = ${port}
host = "127.0.0.1"

[lanes.${DEMO_LANE}]
base_url = "${upstreamUrl}"
auth = "key"
key_env = "${DEMO_KEY_ENV}"
transport = "h1"
dialect = "anthropic"

[[routes]]
match = "*"
lane = "${DEMO_LANE}"

[profiles.${DEMO_PROFILE}]
`;
}
