import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * Whether process `pid` holds the socket listening on TCP `port` (Linux: /proc/net/tcp{,6} and
 * the process's descriptors). A port is not proof of who answers on it: after the user's ccp
 * stopped, another local user may listen there and name, in its /status, a pid or a service of
 * the user's. `ccp stop` and `restart` act only on what this says is the ccp on the port.
 * Undefined where /proc cannot tell (another OS): the caller keeps its other checks.
 */
export function holdsListener(pid: number, port: number): boolean | undefined {
  const inodes = listeningInodes(port);
  if (inodes === undefined) return undefined;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    }
  } catch {
    return false; // no such process, or not ours to read
  }
  return false;
}

/** The inodes of the sockets listening on `port`, or undefined without /proc/net. */
function listeningInodes(port: number): Set<string> | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const found = new Set<string>();
  let readable = false;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
      readable = true;
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; st 0A is LISTEN; the inode is the tenth field.
      if (f.length > 9 && f[1]!.endsWith(`:${hex}`) && f[3] === "0A") found.add(f[9]!);
    }
  }
  return readable ? found : undefined;
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}
