import { createHash, randomBytes } from "node:crypto";

/** Per process: a credential's id cannot be looked up in a table made elsewhere. */
const SALT = randomBytes(16);

/**
 * Which plan a request spends. A lane with its own key has one: "lane". On a passthrough lane
 * each client credential is its own plan (several users or accounts may share one ccp): a salted
 * hash of it, never the credential itself.
 */
export function credentialId(laneAuth: "passthrough" | "key", headers: Headers): string {
  if (laneAuth === "key") return "lane";
  const bearer = /^\s*bearer\s+(\S+)/i.exec(headers.get("authorization") ?? "")?.[1];
  const secret = headers.get("x-api-key") ?? bearer;
  if (!secret) return "client:none";
  return `client:${createHash("sha256").update(SALT).update(secret).digest("hex").slice(0, 12)}`;
}
