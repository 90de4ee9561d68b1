/**
 * The proxy key and the listening address: who can reach ccp, and what it takes to use it
 * (SECURITY.md). Pure: values come from the config loader.
 */

/** The variable the proxy key is read from unless the config names another (proxy_key_env). */
export const PROXY_KEY_ENV = "CCP_PROXY_KEY";
/** Shorter keys are refused: a LAN-reachable port must not be guessable. */
export const MIN_PROXY_KEY_CHARS = 16;

/** The client name a request presenting the single proxy key is recorded under. */
export const ANONYMOUS_CLIENT = "anonymous";

/** A named client (`[clients.<name>]`): one key per person or machine, so usage says whose it is. */
export interface ClientKey {
  readonly name: string;
  /** The environment variable the client's key comes from. */
  readonly key_env: string;
  /** The client's key. A secret, like the proxy key: no serialisation shows it. */
  readonly key: string | undefined;
}

/** Who may use the proxy. */
export interface Access {
  /** The environment variable the proxy key comes from. */
  readonly key_env: string;
  /** The config names key_env itself: the key is then mandatory, even on loopback. */
  readonly key_required: boolean;
  /** A key is set (the proxy key or a client's): every endpoint but /healthz needs one. */
  readonly key_set: boolean;
  /** The proxy key. A secret: no serialisation of the config (config show, --json, a logged object) carries it. */
  readonly key: string | undefined;
  /** The named clients, in config order. */
  readonly clients: readonly ClientKey[];
}

/** The key lives in a #private field behind a getter: JSON, spreads, Object.entries and inspect never show it. */
class AccessSettings implements Access {
  readonly key_set: boolean;
  readonly #key: string | undefined;

  constructor(
    readonly key_env: string,
    readonly key_required: boolean,
    key: string | undefined,
    readonly clients: readonly ClientKey[],
  ) {
    this.#key = key;
    this.key_set = key !== undefined || clients.some((c) => c.key !== undefined);
  }

  get key(): string | undefined {
    return this.#key;
  }
}

class ClientSettings implements ClientKey {
  readonly #key: string | undefined;

  constructor(
    readonly name: string,
    readonly key_env: string,
    key: string | undefined,
  ) {
    this.#key = key;
  }

  get key(): string | undefined {
    return this.#key;
  }
}

export function makeClient(name: string, keyEnv: string, key: string | undefined): ClientKey {
  return new ClientSettings(name, keyEnv, key);
}

export function makeAccess(keyEnv: string, required: boolean, key: string | undefined, clients: readonly ClientKey[] = []): Access {
  return new AccessSettings(keyEnv, required, key, clients);
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

/** What is wrong with a key read from $variable (`what` names whose key it is), or undefined. */
function keyProblem(what: string, variable: string, key: string): ExposureProblem | undefined {
  if (key.length < MIN_PROXY_KEY_CHARS) {
    return {
      message: `${what} in $${variable} is too short (${key.length} characters; at least ${MIN_PROXY_KEY_CHARS})`,
      hint: "use a long random string, e.g. openssl rand -hex 24",
    };
  }
  if (/[\s\0-\x1f\x7f]/.test(key)) {
    return {
      message: `${what} in $${variable} contains whitespace or control characters`,
      hint: "use a random string of letters and digits, e.g. openssl rand -hex 24",
    };
  }
  return undefined;
}

/**
 * A named client without its key, with a bad one, or with the key of another (its usage
 * would be recorded under the wrong name): ccp does not start, as with proxy_key_env.
 */
function clientProblem(access: Access): ExposureProblem | undefined {
  const owners = new Map<string, string>();
  if (access.key !== undefined) owners.set(access.key, `the proxy key ($${access.key_env})`);
  for (const c of access.clients) {
    if (c.key === undefined) {
      return {
        message: `client "${c.name}" needs its key in $${c.key_env}, which is not set`,
        hint: `export ${c.key_env}=<a long random string> (e.g. openssl rand -hex 24), or remove [clients.${c.name}]`,
      };
    }
    const bad = keyProblem(`client "${c.name}"'s key`, c.key_env, c.key);
    if (bad) return bad;
    const owner = owners.get(c.key);
    if (owner) return { message: `client "${c.name}" has the same key ($${c.key_env}) as ${owner}`, hint: "give every client a key of its own (openssl rand -hex 24)" };
    owners.set(c.key, `client "${c.name}"`);
  }
  return undefined;
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
  const bad = key === undefined ? undefined : keyProblem("the proxy key", access.key_env, key);
  if (bad) return bad;
  const client = clientProblem(access);
  if (client) return client;
  if (!access.key_set && !isLoopbackHost(host)) {
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
