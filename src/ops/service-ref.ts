/**
 * Which service manager runs a ccp, and under what name: `systemd` with a user unit
 * (`ccp.service`, `ccp-<profile>.service`) or `launchd` with an agent label (`local.ccp`,
 * `local.ccp.<profile>`). The unit or plist sets CCP_SERVICE to it, the server says it in
 * /status and its run file, and `ccp stop` / `restart` go through that manager. Pure.
 */
export type ServiceManager = "systemd" | "launchd";

export interface ServiceRef {
  readonly manager: ServiceManager;
  readonly name: string;
}

/** The variable a service's environment carries: "systemd:ccp.service", "launchd:local.ccp". */
export const SERVICE_ENV = "CCP_SERVICE";

/** Unit names and labels ccp writes or accepts: no path, no shell or XML metacharacter. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9@._-]{0,199}$/;

/** Profiles a service can be named after (the unit name and the label carry them). */
const PROFILE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function parseServiceRef(value: string | undefined): ServiceRef | undefined {
  const m = /^(systemd|launchd):(.+)$/.exec(value ?? "");
  if (!m || !NAME.test(m[2]!)) return undefined;
  return { manager: m[1] as ServiceManager, name: m[2]! };
}

/** A value read back from /status or a run file: kept only when it is a well-formed ref. */
export function asServiceRef(value: unknown): ServiceRef | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { manager, name } = value as Record<string, unknown>;
  return typeof manager === "string" && typeof name === "string" ? parseServiceRef(`${manager}:${name}`) : undefined;
}

export const formatServiceRef = (r: ServiceRef): string => `${r.manager}:${r.name}`;

/** Why a profile cannot name a service, or undefined when it can. */
export function profileProblem(profile: string): string | undefined {
  return PROFILE.test(profile) ? undefined : `profile "${profile}" cannot name a service: use letters, digits, - and _ (at most 64)`;
}

/** The unit name or label of a profile's service. */
export function serviceName(manager: ServiceManager, profile: string): string {
  const plain = profile === "default";
  return manager === "systemd" ? (plain ? "ccp.service" : `ccp-${profile}.service`) : plain ? "local.ccp" : `local.ccp.${profile}`;
}

/** The service manager of a platform, or undefined where ccp has none. */
export function managerOf(platform: string): ServiceManager | undefined {
  return platform === "linux" ? "systemd" : platform === "darwin" ? "launchd" : undefined;
}

/** How a person reads the service's log. */
export function logHint(ref: ServiceRef, logFile: string | undefined): string {
  return ref.manager === "systemd" ? `journalctl --user -u ${ref.name} -f` : `tail -f ${logFile ?? "(its StandardOutPath)"}`;
}
