/**
 * A Redis URL as ccp may show it: the password replaced, so it can be logged, printed by
 * `ccp config show` and put on the status page. The password itself is a secret like a lane's key.
 */
export const MASK = "********";

export function redactRedisUrl(url: string): string {
  if (!URL.canParse(url)) return "(not a URL)";
  const u = new URL(url);
  if (u.password) u.password = MASK;
  return u.href;
}

/** The URL's password (percent-decoded), for the secret filters; undefined when it has none. */
export function redisPassword(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const p = new URL(url).password;
  if (!p) return undefined;
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}
