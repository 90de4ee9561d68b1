import type { ConfigFile, LaneSettings, Route } from "./schema.ts";

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
  readonly lanes: Readonly<Record<string, Lane>>;
  readonly routes: readonly Route[];
  /** Active profile name ("default" when none is chosen). */
  readonly profile: string;
  /** The file the settings came from, or undefined for the built-in defaults. */
  readonly source: string | undefined;
  /** $CCP_HOME: state, logs and the usage store. */
  readonly home: string;
}
