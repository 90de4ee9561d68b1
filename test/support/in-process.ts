import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { Logger } from "../../src/server/context.ts";
import { startServer, type RunningServer } from "../../src/server/serve.ts";
import { scratchDir } from "./ccp.ts";
import { writeConfig } from "./config-file.ts";

export interface InProcessCcp extends RunningServer {
  readonly logs: string[];
  readonly usageFile: string;
}

/** The real server on a free port inside the test process (transport and fault tests). */
export function startInProcess(toml: string, env: Record<string, string> = {}): InProcessCcp {
  const home = scratchDir();
  const config = loadConfig({ file: writeConfig(toml), env: { HOME: home, CCP_HOME: join(home, "state"), ...env }, port: 0 });
  const logs: string[] = [];
  const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
  const server = startServer(config, log);
  return { ...server, stop: server.stop, logs, usageFile: join(home, "state", "logs", "default", "usage.jsonl") };
}
