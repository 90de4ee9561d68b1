import type { Access } from "./access.ts";
import type { ServiceRef } from "../ops/service-ref.ts";
import type { ConfigFile, LaneSettings } from "./schema.ts";
import type { StoreSettings } from "./store.ts";

/** A lane as the proxy uses it: its settings, its name, and its key resolved from the environment. */
export interface Lane extends LaneSettings {
  readonly name: string;
  /** The lane's own key (auth = "key"); a secret: never log, record or print it. */
  readonly key: string | undefined;
}

/**
 * The effective configuration: file, then profile overlay, then environment overrides. Its
 * settings are the schema's own (zod is the single source of truth: STYLE.md), under the same
 * names as in the file; what the loader adds is below.
 */
export type Config = Readonly<Omit<ConfigFile, "lanes" | "profiles" | "proxy_key_env" | "clients" | "instance" | "store">> & {
  readonly lanes: Readonly<Record<string, Lane>>;
  /** Active profile name ("default" when none is chosen). */
  readonly profile: string;
  /** The file the settings came from, or undefined for the built-in defaults. */
  readonly source: string | undefined;
  /** $CCP_HOME: state, logs and the usage store. */
  readonly home: string;
  /** Where capture files go: $CCP_CAPTURE_DIR, else $CCP_HOME/captures ($CCP_CAPTURE_DIR also turns capture "off" into "all"). */
  readonly captureDir: string;
  /** Who may use the proxy: the proxy key (SECURITY.md), from proxy_key_env, and the named clients' keys. */
  readonly access: Access;
  /** Where usage records go when persist is on: SQLite, or PostgreSQL ($CCP_DATABASE_URL, else [store] url). */
  readonly store: StoreSettings;
  /** This ccp's name on its usage lines: $CCP_INSTANCE, else the config's `instance`, else the host name. */
  readonly instance: string;
  /** The service manager running this ccp ($CCP_SERVICE, set by the unit or plist `ccp service install` writes). */
  readonly managed_by?: ServiceRef | undefined;
  /** `ccp demo`: the lane is the built-in simulator (said in /status, the dashboard and the log). */
  readonly demo?: boolean;
};
