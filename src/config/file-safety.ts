import { statSync } from "node:fs";
import { readRegular } from "./read-regular.ts";

/** Strings shaped like credentials (the same families the capture redactor knows). */
const KEY_SHAPED: readonly RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{16,}/,
  /\b[0-9a-f]{32}\.[A-Za-z0-9]{8,}\b/,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/,
  /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/i,
];

/**
 * Warnings about the config file's permissions, or none. Keys belong in environment
 * variables, but a file that holds one anyway must not be readable by group or others; and
 * a file others can write could point a keyed lane at their own host.
 */
export function configFileWarnings(file: string | undefined, secrets: Iterable<string | undefined>): string[] {
  if (file === undefined || process.platform === "win32") return [];
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readRegular(file);
  } catch {
    return [];
  }
  const out: string[] = [];
  const octal = (mode & 0o777).toString(8).padStart(3, "0");
  if (mode & 0o022) {
    out.push(`${file} is writable by group or others (mode ${octal}): they could send your keys elsewhere; run chmod go-w ${file}`);
  }
  const known = [...secrets].filter((s): s is string => typeof s === "string" && s.length >= 8);
  const holdsKey = known.some((s) => text.includes(s)) || KEY_SHAPED.some((re) => re.test(text));
  if (mode & 0o044 && holdsKey) {
    out.push(`${file} appears to hold a key and is readable by group or others (mode ${octal}): run chmod 600 ${file}, and keep keys in environment variables (key_env, proxy_key_env)`);
  }
  return out;
}
