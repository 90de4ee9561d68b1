import { join } from "node:path";

/** Files under $CCP_HOME that belong to one instance (instances are told apart by port). */
export const instancePaths = (home: string, port: number) => ({
  /** The detached server's stdout and stderr (the Go shim's ccp.out). */
  log: join(home, `ccp-${port}.out`),
  /** What `start` launched: pid, port, options. Never trusted alone: health is asked over HTTP. */
  state: join(home, "run", `ccp-${port}.json`),
  /** The running server's replay key (0600): what lets `ccp replay` choose a lane and transport. */
  replayKey: join(home, "run", `ccp-${port}.replay-key`),
});
