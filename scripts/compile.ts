/**
 * How ccp becomes one self-contained executable (`bun build --compile`) that needs no Bun or
 * node_modules beside it; scripts/build.ts (this machine's, dist/ccp) and scripts/release.ts
 * (every platform's, dist/release) both compile through here, so the two never differ in a flag.
 *
 * The binary must behave like the source CLI wherever it runs, so it does not read a stray .env
 * or bunfig.toml from the current directory (both are on by default in compiled executables;
 * tsconfig.json and package.json autoloading are off). It carries bytecode (ESM bytecode needs
 * --compile): the engine skips parsing the bundle at start, which is most of a short command's
 * time (`ccp statusline` runs after each of Claude Code's answers: 60-65 ms without, about 25 ms
 * with; scripts/bench/statusline.ts).
 */
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..");
export const ENTRY = join(ROOT, "src", "cli", "main.ts");

export const COMPILE_FLAGS: readonly string[] = [
  "--compile",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  "--no-compile-autoload-tsconfig",
  "--no-compile-autoload-package-json",
  "--minify-syntax",
  "--bytecode",
  "--format=esm",
];

export interface CompileTarget {
  /** Bun's name for the platform (`bun-linux-x64`); undefined: this machine's. */
  readonly target?: string;
  /** The Bun runtime of that platform to build on, instead of one Bun would download. */
  readonly executablePath?: string;
}

/** `bun build` argv (without the bun) that compiles ccp into `outfile`. */
export function compileArgs(outfile: string, t: CompileTarget = {}): string[] {
  const cross = [...(t.target ? [`--target=${t.target}`] : []), ...(t.executablePath ? [`--compile-executable-path=${t.executablePath}`] : [])];
  return ["build", ...COMPILE_FLAGS, ...cross, "--outfile", outfile, ENTRY];
}

/** Compiles ccp with this Bun; its output goes to the caller's terminal; exits with bun's status on failure. */
export async function compile(outfile: string, t: CompileTarget = {}): Promise<void> {
  const proc = Bun.spawn([process.execPath, ...compileArgs(outfile, t)], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  const code = await proc.exited;
  if (code !== 0) {
    console.error(`build of ${outfile} failed (bun build exited ${code})`);
    process.exit(code);
  }
}
