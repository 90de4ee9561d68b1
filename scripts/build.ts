/**
 * Builds dist/ccp: one self-contained executable (`bun build --compile`) that needs no Bun
 * or node_modules beside it. The binary must behave like the source CLI wherever it runs,
 * so it does not read a stray .env or bunfig.toml from the current directory (both are on
 * by default in compiled executables; tsconfig.json and package.json autoloading are off).
 * It carries bytecode (ESM bytecode needs --compile): the engine skips parsing the bundle at
 * start, which is most of a short command's time (`ccp statusline` runs after each of Claude
 * Code's answers: 60-65 ms without, about 25 ms with; scripts/bench/statusline.ts).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const outfile = join(root, "dist", "ccp");
mkdirSync(join(root, "dist"), { recursive: true });

const args = [
  "build",
  "--compile",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  "--no-compile-autoload-tsconfig",
  "--no-compile-autoload-package-json",
  "--minify-syntax",
  "--bytecode",
  "--format=esm",
  "--outfile",
  outfile,
  join(root, "src", "cli", "main.ts"),
];
const t0 = performance.now();
const proc = Bun.spawn([process.execPath, ...args], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
const code = await proc.exited;
if (code !== 0) {
  console.error(`build failed (bun build exited ${code})`);
  process.exit(code);
}
console.log(`built ${outfile} in ${Math.round(performance.now() - t0)} ms`);
