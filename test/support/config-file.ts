import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Writes a TOML config into a fresh temporary directory and returns its path. */
export function writeConfig(toml: string, name = "config.toml"): string {
  const dir = mkdtempSync(join(tmpdir(), "ccp-config-"));
  const file = join(dir, name);
  writeFileSync(file, toml);
  return file;
}
