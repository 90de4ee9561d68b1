#!/usr/bin/env bun
/**
 * The entry point. `ccp statusline` runs after each of Claude Code's answers and must be quick:
 * in the forms its statusLine setting uses, it is dispatched here before the command table
 * (commander) and the config loader (zod) are loaded; everything else goes through run.ts.
 */
import { fastStatusline } from "./fast-path.ts";

const port = fastStatusline(process.argv.slice(2));
if (port !== undefined) {
  const { statusline } = await import("./commands/statusline.ts");
  await statusline({ port: port || undefined });
  process.exit(0);
}
await (await import("./run.ts")).run();
