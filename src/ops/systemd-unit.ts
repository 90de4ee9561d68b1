import type { ServiceSpec } from "./service-spec.ts";

/**
 * A systemd user unit for a ccp service. Pure. Quoting follows systemd.service(5) "Command
 * lines" and systemd.exec(5) "Environment=": a word with anything but plain characters goes in
 * double quotes with `\` and `"` escaped; `%` is a specifier everywhere (written `%%`) and `$`
 * expands variables in ExecStart (written `$$`), but not in Environment=.
 */

/** Words that need no quotes: no space, quote, backslash, `;`, `%` or `$`. */
const PLAIN = /^[A-Za-z0-9_@+=:,./-]+$/;

function refuseControl(text: string): string {
  // A newline would end the setting and start another: nothing legitimate has one.
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new Error(`cannot write ${JSON.stringify(text)} into a systemd unit: it holds a control character`);
  return text;
}

const specifiers = (s: string) => s.replaceAll("%", "%%");
const quoted = (s: string) => `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;

/** One argument of an ExecStart= command line. */
export function execWord(word: string): string {
  refuseControl(word);
  if (PLAIN.test(word)) return word;
  return specifiers(quoted(word.replaceAll("$", "$$$$")));
}

/**
 * The executable of an ExecStart= line: `$` is not expanded there, and systemd refuses a quote or
 * a backslash in it ("Executable name contains special characters", string_is_safe()).
 */
export function execPath(path: string): string {
  if (/["'\\]/.test(refuseControl(path))) throw new Error(`systemd cannot run an executable whose path holds a quote or a backslash: ${path}`);
  return PLAIN.test(path) ? path : specifiers(`"${path}"`);
}

/** One Environment= assignment. */
export function environmentLine(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not an environment variable name: ${JSON.stringify(name)}`);
  return `Environment=${specifiers(quoted(`${name}=${refuseControl(value)}`))}`;
}

/** Exit status 2 is a configuration or usage mistake: restarting cannot fix it. */
const NO_RESTART_STATUS = 2;

export function systemdUnit(spec: ServiceSpec, header: string): string {
  const name = spec.ref.name.replace(/\.service$/, "");
  const lines = [
    ...header.split("\n").map((l) => `# ${refuseControl(l)}`.trimEnd()),
    "[Unit]",
    `Description=${specifiers(refuseControl(spec.description))}`,
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${[execPath(spec.argv[0] ?? ""), ...spec.argv.slice(1).map(execWord)].join(" ")}`,
    ...Object.entries(spec.env).map(([k, v]) => environmentLine(k, v)),
    // Optional ("-"): the service's secrets, when the user keeps any there.
    `EnvironmentFile=-${specifiers(refuseControl(spec.envFile))}`,
    "Restart=on-failure",
    "RestartSec=2",
    `RestartPreventExitStatus=${NO_RESTART_STATUS}`,
    // SIGTERM lets streams finish for up to 10 s (ccp start); then systemd may kill.
    "TimeoutStopSec=20",
    "StandardOutput=journal",
    "StandardError=journal",
    `SyslogIdentifier=${name}`,
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ];
  return lines.join("\n");
}
