/**
 * Where usage records are stored: the local SQLite database, or the fleet's PostgreSQL. The URL
 * may hold a password: it lives in a #private field, so no serialisation of the config (config
 * show, --json, a logged object) carries it, and `shown` is the URL with the password masked.
 */
export const DATABASE_URL_ENV = "CCP_DATABASE_URL";

export interface StoreSettings {
  readonly kind: "sqlite" | "postgres";
  /** The PostgreSQL URL with its password replaced by ********, for messages and `config show`. */
  readonly shown: string | undefined;
  /** The URL came from $CCP_DATABASE_URL. */
  readonly from_env: boolean;
  /** The local buffer's bound while PostgreSQL is unreachable, MiB. */
  readonly buffer_mb: number;
  /** The URL itself (a secret when it holds a password). */
  readonly url: string | undefined;
  /** The password in the URL, decoded, so logs and answers can redact it. */
  readonly password: string | undefined;
}

/** The URL with its password masked. Pure. */
export function maskedUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "********";
  return u.toString();
}

class Store implements StoreSettings {
  readonly kind: "sqlite" | "postgres";
  readonly shown: string | undefined;
  readonly #url: string | undefined;

  constructor(
    url: string | undefined,
    readonly from_env: boolean,
    readonly buffer_mb: number,
  ) {
    this.#url = url;
    this.kind = url === undefined ? "sqlite" : "postgres";
    this.shown = url === undefined ? undefined : maskedUrl(url);
  }

  get url(): string | undefined {
    return this.#url;
  }

  get password(): string | undefined {
    const p = this.#url === undefined ? "" : new URL(this.#url).password;
    return p ? decodeURIComponent(p) : undefined;
  }
}

export function makeStore(url: string | undefined, fromEnv: boolean, bufferMb: number): StoreSettings {
  return new Store(url, fromEnv, bufferMb);
}
