import type { Config } from "../../config/config.ts";
import { loadConfig } from "../../config/load.ts";
import { askStatus, keyNeeded } from "../../ops/instance.ts";
import { instanceUrl } from "../../ops/local-http.ts";
import { checkConnect, checkCredentials, checkRequest, type Check } from "../../ops/lane-check.ts";
import { out } from "../render.ts";
import { resolveTarget } from "../target.ts";
import { formatUptime } from "./status.ts";

export interface OkOptions {
  readonly port?: number;
  readonly profile?: string;
  readonly config?: string;
  readonly json?: boolean;
}

/** The old ccc-ok: one line per check; exit 0 only if every check passes. */
export async function ok(opts: OkOptions): Promise<void> {
  const checks: Check[] = [];
  const report = (c: Check) => {
    checks.push(c);
    if (!opts.json) console.log(`${out.check(c.pass)}  ${c.name.padEnd(24)} ${c.detail}`);
  };

  const target = await resolveTarget(opts, true);
  const answer = await askStatus(target.host, target.port);
  const status = answer.kind === "running" ? answer.body : undefined;
  const locked = answer.kind === "needs-key" ? keyNeeded(answer.keySent) : undefined;
  report(
    status
      ? {
          name: "proxy",
          pass: true,
          detail: `healthy on ${instanceUrl(target.host, target.port)} (pid ${status.pid}, profile ${status.profile}, up ${formatUptime(status.uptime_s)})`,
        }
      : locked
        ? { name: "proxy", pass: false, detail: `the ccp on ${instanceUrl(target.host, target.port)} ${locked.what}; ${locked.hint}` }
        : { name: "proxy", pass: false, detail: `nothing answers on ${instanceUrl(target.host, target.port)}; ccp start --port ${target.port}` },
  );
  let config: Config | undefined;
  try {
    config = loadConfig({ file: opts.config ?? status?.config ?? undefined, profile: opts.profile ?? status?.profile, port: target.port });
    report({ name: "config", pass: true, detail: `${config.source ?? "built-in defaults"} is valid (profile ${config.profile})` });
  } catch (e) {
    report({ name: "config", pass: false, detail: (e as Error).message.replaceAll("\n", " ") });
  }
  for (const lane of Object.values(config?.lanes ?? {})) {
    // The running proxy knows whether it has the key; without one, this shell's environment decides.
    const running = status?.lanes.find((l) => l.name === lane.name);
    report(running ? checkCredentials(lane, running.credentials !== "missing", true) : checkCredentials(lane, lane.key !== undefined, false));
    const connect = await checkConnect(lane);
    report(connect);
    if (connect.pass) report(await checkRequest(lane));
  }
  const pass = checks.every((c) => c.pass);
  if (opts.json) console.log(JSON.stringify({ pass, checks }, null, 2));
  else console.log(pass ? out.ok("all checks passed") : out.bad(`${checks.filter((c) => !c.pass).length} check(s) failed`));
  if (!pass) process.exitCode = 1;
}
