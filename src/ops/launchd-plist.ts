import type { ServiceSpec } from "./service-spec.ts";

/**
 * A launchd agent for a ccp service (launchd.plist(5)). Pure. launchd runs ProgramArguments
 * without a shell, so arguments need only XML escaping. It has no EnvironmentFile: a short
 * `/bin/sh` prelude reads the service's env file (secrets stay out of the plist), then execs ccp.
 */

/** Characters XML 1.0 cannot hold at all, even escaped. */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

export function xmlText(s: string): string {
  if (NOT_XML.test(s)) throw new Error(`cannot write ${JSON.stringify(s)} into a plist: it holds a character XML cannot carry`);
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&apos;");
}

export function xmlUnescape(s: string): string {
  return s.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&apos;", "'").replaceAll("&amp;", "&");
}

/**
 * `sh -c PRELUDE ccp-service ENVFILE ARGV...`: exports each NAME=value line of ENVFILE when it is
 * readable, the value as written (never run as shell code: a key may hold $, a backtick or ;, as
 * systemd's EnvironmentFile= takes it), skipping lines that are not NAME=value; then becomes ARGV.
 */
export const ENV_PRELUDE =
  'f=$1; shift; if [ -r "$f" ]; then while IFS= read -r l || [ -n "$l" ]; do case $l in *=*) ;; *) continue ;; esac; n=${l%%=*}; ' +
  'case $n in "" | [0-9]* | *[!A-Za-z0-9_]*) continue ;; esac; export "$l"; done < "$f"; fi; exec "$@"';

/** The program launchd starts: the prelude, then ccp itself (same pid: sh execs it). */
export function programArguments(spec: ServiceSpec): string[] {
  return ["/bin/sh", "-c", ENV_PRELUDE, "ccp-service", spec.envFile, ...spec.argv];
}

/** A comment: no "--" may appear inside one (entities mean nothing there). */
function comment(s: string): string {
  xmlText(s);
  return `<!-- ${s.replace(/-(?=-)/g, "- ")} -->`;
}

const str = (s: string, indent: string) => `${indent}<string>${xmlText(s)}</string>`;
const key = (k: string, indent = "  ") => `${indent}<key>${xmlText(k)}</key>`;

export function launchdPlist(spec: ServiceSpec, header: string): string {
  const log = spec.log ?? "/dev/null";
  const env = Object.entries(spec.env).flatMap(([k, v]) => [key(k, "    "), str(v, "    ")]);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    ...header.split("\n").map(comment),
    '<plist version="1.0">',
    "<dict>",
    key("Label"),
    str(spec.ref.name, "  "),
    key("ProgramArguments"),
    "  <array>",
    ...programArguments(spec).map((a) => str(a, "    ")),
    "  </array>",
    key("EnvironmentVariables"),
    "  <dict>",
    ...env,
    "  </dict>",
    key("RunAtLoad"),
    "  <true/>",
    // Restarted when it exits unsuccessfully (a crash, a signal), as systemd's Restart=on-failure.
    key("KeepAlive"),
    "  <dict>",
    key("SuccessfulExit", "    "),
    "    <false/>",
    "  </dict>",
    key("ThrottleInterval"),
    "  <integer>5</integer>",
    // SIGTERM lets streams finish for up to 10 s (ccp start); then launchd may kill.
    key("ExitTimeOut"),
    "  <integer>20</integer>",
    key("StandardOutPath"),
    str(log, "  "),
    key("StandardErrorPath"),
    str(log, "  "),
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}
