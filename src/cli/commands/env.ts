import { readEnv } from "../../config/env.ts";
import { isHealthy } from "../../ops/health.ts";
import { instanceUrl } from "../../ops/local-http.ts";
import { proxyEnvPlan, proxyKeyEnvFor, renderEnv, shellFromPath, SHELLS, type Shell } from "../../ops/shell-env.ts";
import { ExitError } from "../exit-error.ts";
import { paint } from "../render.ts";
import { resolveTarget } from "../target.ts";

export interface EnvOptions {
  readonly port?: number;
  readonly shell?: string;
  readonly json?: boolean;
}

/** Prints what `eval "$(ccp env 8082)"` needs; a warning goes to stderr when nothing runs there. */
export async function env(opts: EnvOptions): Promise<void> {
  const shell = opts.shell ?? shellFromPath(readEnv().shell);
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new ExitError(2, `unknown shell "${shell}"`, `use --shell ${SHELLS.join(", --shell ")}`);
  }
  const target = await resolveTarget(opts, true);
  const plan = proxyEnvPlan(instanceUrl(target.host, target.port), proxyKeyEnvFor(readEnv().all));
  if (!(await isHealthy(target.host, target.port))) {
    console.error(paint.warn(`no ccp is answering on port ${target.port} yet`));
    console.error(paint.hint(`start it: ccp start --port ${target.port}`));
  }
  console.log(opts.json ? JSON.stringify(plan) : renderEnv(shell as Shell, plan));
}
