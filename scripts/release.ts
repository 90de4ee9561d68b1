/**
 * `npm run release`: ccp's single executable for every platform in dist/release, named
 * ccp-<os>-<arch>, and dist/release/SHA256SUMS (`sha256sum -c SHA256SUMS` checks them). Each is
 * cross-compiled with the flags of scripts/compile.ts on the Bun runtime of its platform, fetched
 * from the npm registry into .tmp/runtimes once (scripts/runtimes.ts). A macOS executable whose code
 * signature does not match its bytes is signed again ad hoc (scripts/macho-sign.ts).
 */
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { compile, ROOT } from "./compile.ts";
import { machoSignatureProblem, signAdHoc } from "./macho-sign.ts";
import { bunTarget, type Platform, PLATFORMS, pinnedBunVersion, platformName, runtimeFor } from "./runtimes.ts";

export const RELEASE_DIR = join(ROOT, "dist", "release");
const CACHE = process.env.CCP_RUNTIME_CACHE || join(ROOT, ".tmp", "runtimes");

/** One line of a SHA256SUMS file, as sha256sum writes it (text mode: two spaces). */
export const sumsLine = (hex: string, name: string) => `${hex}  ${name}\n`;

export async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** A macOS executable must carry a valid signature to start: Bun's, else one written here. */
function checkSignature(file: string, p: Platform): void {
  const problem = machoSignatureProblem(readFileSync(file));
  if (!problem) return;
  const signed = signAdHoc(readFileSync(file), "ccp");
  const still = machoSignatureProblem(signed);
  if (still) throw new Error(`${file}: its code signature is invalid (${problem}), and signing it again did not help (${still})`);
  writeFileSync(file, signed);
  console.log(`${platformName(p)}: the code signature bun build left was invalid (${problem}); signed it again ad hoc`);
}

async function release(): Promise<void> {
  const t0 = performance.now();
  const version = pinnedBunVersion(pkg);
  mkdirSync(RELEASE_DIR, { recursive: true });
  // Nothing from an earlier release stays beside the new files.
  for (const f of readdirSync(RELEASE_DIR)) if (f.startsWith("ccp-") || f === "SHA256SUMS") rmSync(join(RELEASE_DIR, f));
  const names: string[] = [];
  for (const p of PLATFORMS) {
    const executablePath = await runtimeFor(p, version, CACHE);
    const name = `ccp-${platformName(p)}`;
    await compile(join(RELEASE_DIR, name), { target: bunTarget(p), executablePath });
    if (p.os === "darwin") checkSignature(join(RELEASE_DIR, name), p);
    names.push(name);
  }
  let sums = "";
  for (const name of names) sums += sumsLine(await sha256(join(RELEASE_DIR, name)), name);
  writeFileSync(join(RELEASE_DIR, "SHA256SUMS"), sums);
  console.log(`ccp ${pkg.version}: ${names.length} executables and SHA256SUMS in ${RELEASE_DIR} (${Math.round(performance.now() - t0)} ms)`);
}

if (import.meta.main) await release();
