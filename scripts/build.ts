/** Builds dist/ccp: the single executable for this machine (flags and why: scripts/compile.ts). */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { compile, ROOT } from "./compile.ts";

const outfile = join(ROOT, "dist", "ccp");
mkdirSync(join(ROOT, "dist"), { recursive: true });
const t0 = performance.now();
await compile(outfile);
console.log(`built ${outfile} in ${Math.round(performance.now() - t0)} ms`);
