import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";

/**
 * The roots a lane's TLS connections trust: the system's, plus the lane's extra CA file when
 * it names one (an explicit CA list replaces the default roots, so they are listed too).
 * Read once per lane, by its runtime and by `ccp ok` alike.
 */
export function trustedRoots(caFile: string | undefined): readonly string[] | undefined {
  if (!caFile) return undefined;
  return [...rootCertificates, readFileSync(caFile, "utf8")];
}
