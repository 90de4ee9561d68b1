/**
 * The proxy key and the listening address: who can reach ccp, and what it takes to use it
 * (SECURITY.md). Pure: values come from the config loader.
 */

/** The variable the proxy key is read from unless the config names another (proxy_key_env). */
export const PROXY_KEY_ENV = "CCP_PROXY_KEY";
/** Shorter keys are refused: a LAN-reachable port must not be guessable. */
export const MIN_PROXY_KEY_CHARS = 16;

/** Who may use the proxy. */
export interface Access {
  /** The environment variable the proxy key comes from. */
  readonly key_env: string;
  /** The config names key_env itself: the key is then mandatory, even on loopback. */
  readonly key_required: boolean;
  /** A key is set: every endpoint but /healthz needs it. */
  readonly key_set: boolean;
  /** The proxy key. A secret: no serialisation of the config (config show, --json, a logged object) carries it. */
  readonly key: string | undefined;
}

/** The key lives in a #private field behind a getter: JSON, spreads, Object.entries and inspect never show it. */
class AccessSettings implements Access {
  readonly key_set: boolean;
  readonly #key: string | undefined;

  constructor(
    readonly key_env: string,
    readonly key_required: boolean,
    key: string | undefined,
  ) {
    this.#key = key;
    this.key_set = key !== undefined;
  }

  get key(): string | undefined {
    return this.#key;
  }
}

export function makeAccess(keyEnv: string, required: boolean, key: string | undefined): Access {
  return new AccessSettings(keyEnv, required, key);
}

/** Loopback addresses, where only this machine's users can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface ExposureProblem {
  readonly message: string;
  readonly hint: string;
}

/** Why ccp must not start with this address and key, or undefined when it may. */
export function exposureProblem(c: { readonly host: string; readonly access: Access }): ExposureProblem | undefined {
  const { access, host } = c;
  const key = access.key;
  if (key === undefined && access.key_required) {
    return {
      message: `the config asks for a proxy key (proxy_key_env = "${access.key_env}"), but $${access.key_env} is not set`,
      hint: `export ${access.key_env}=<a long random string> (e.g. openssl rand -hex 24), then start again`,
    };
  }
  if (key !== undefined && key.length < MIN_PROXY_KEY_CHARS) {
    return {
      message: `the proxy key in $${access.key_env} is too short (${key.length} characters; at least ${MIN_PROXY_KEY_CHARS})`,
      hint: "use a long random string, e.g. openssl rand -hex 24",
    };
  }
  if (key !== undefined && /[\s\0-\x1f\x7f]/.test(key)) {
    return {
      message: `the proxy key in $${access.key_env} contains whitespace or control characters`,
      hint: "use a random string of letters and digits, e.g. openssl rand -hex 24",
    };
  }
  if (key === undefined && !isLoopbackHost(host)) {
    return {
      message: `refusing to listen on ${host}: anything but loopback (127.0.0.1, ::1) is reachable from other machines, and no proxy key is set`,
      hint: `export ${access.key_env}=$(openssl rand -hex 24) so clients must present it (x-ccp-key header), or listen on 127.0.0.1`,
    };
  }
  return undefined;
}

/** host:port as it goes into a URL (IPv6 literals in brackets). */
export function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}
