import type { Access } from "./access.ts";
import type { ConfigFile, LaneSettings, Limits, Retention, Rotation, Route } from "./schema.ts";

/** A lane as the proxy uses it: its settings, its name, and its key resolved from the environment. */
export interface Lane extends LaneSettings {
  readonly name: string;
  /** The lane's own key (auth = "key"); a secret: never log, record or print it. */
  readonly key: string | undefined;
}

/** The effective configuration: file, then profile overlay, then environment overrides. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly persist: boolean;
  readonly fallback: ConfigFile["fallback"];
  /** `ccp wrap` starts the proxy when needed, as with --start. */
  readonly wrapStart: boolean;
  readonly lanes: Readonly<Record<string, Lane>>;
  readonly routes: readonly Route[];
  /** Active profile name ("default" when none is chosen). */
  readonly profile: string;
  /** The file the settings came from, or undefined for the built-in defaults. */
  readonly source: string | undefined;
  /** $CCP_HOME: state, logs and the usage store. */
  readonly home: string;
  /** Diagnostics capture mode ($CCP_CAPTURE_DIR turns "off" into "all"). */
  readonly capture: ConfigFile["capture"];
  /** Where capture files go: $CCP_CAPTURE_DIR, else $CCP_HOME/captures. */
  readonly captureDir: string;
  readonly retention: Retention;
  readonly rotation: Rotation;
  /** Host names ccp answers for besides IP addresses and localhost (allowed_hosts). */
  readonly allowedHosts: readonly string[];
  /** Origins of web pages allowed to call ccp (allowed_origins). */
  readonly allowedOrigins: readonly string[];
  /** Who may use the proxy: the proxy key (SECURITY.md). */
  readonly access: Access;
  /** Request body size and client timeouts. */
  readonly limits: Limits;
}
