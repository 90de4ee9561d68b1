// Thinking signatures made and checked as Anthropic does: each instance has its own secret, and
// each request a realm (its path before "/v1/"); a signature or a redacted_thinking's data is
// only good in the instance and realm that made it. Runs under Node.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

import { RICH_THINKING, type RichOptions } from "./protocol.ts";

const secret = randomBytes(32).toString("hex");
let verifying = false;

export function setVerifying(on: boolean): void {
  verifying = on;
}

export function isVerifying(): boolean {
  return verifying;
}

/** The realm of a request path: its part before "/v1/" ("/zai/v1/messages" -> "/zai", "/v1/messages" -> ""). */
export function realmOf(pathname: string): string {
  const at = pathname.indexOf("/v1/");
  return at < 0 ? pathname : pathname.slice(0, at);
}

function mac(realm: string, data: string | Buffer): Buffer {
  return createHmac("sha256", secret + realm)
    .update(data)
    .digest();
}

/** base64(HMAC-SHA256(secret + realm, thinking text)). */
export function signThinking(realm: string, thinking: string): string {
  return mac(realm, thinking).toString("base64");
}

export function isSignedThinking(realm: string, thinking: string, signature: string): boolean {
  return signature === signThinking(realm, thinking);
}

const REDACTED_PAYLOAD = Buffer.from("fake upstream redacted thinking");
const REDACTED_TAG = "redacted_thinking\u0000";

/** A redacted_thinking block's data: base64(payload + HMAC(secret + realm, tag + payload)). */
export function redactedData(realm: string): string {
  return Buffer.concat([REDACTED_PAYLOAD, mac(realm, Buffer.concat([Buffer.from(REDACTED_TAG), REDACTED_PAYLOAD]))]).toString("base64");
}

export function isRedactedData(realm: string, data: string): boolean {
  const bytes = Buffer.from(data, "base64");
  if (bytes.length <= 32) return false;
  const payload = bytes.subarray(0, bytes.length - 32);
  const expected = mac(realm, Buffer.concat([Buffer.from(REDACTED_TAG), payload]));
  return timingSafeEqual(bytes.subarray(bytes.length - 32), expected);
}

/** What a rich answer in this realm carries: this instance's signatures while verifying, else the fixed constants. */
export function richOptions(realm: string, redacted: boolean): RichOptions {
  if (!verifying) return { redacted };
  return { redacted, signature: signThinking(realm, RICH_THINKING), redactedData: redactedData(realm) };
}
