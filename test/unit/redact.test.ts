import { expect, test } from "bun:test";
import { REDACTED, redactHeaders, redactor, secretsInHeaders } from "../../src/usage/redact.ts";

const headers: [string, string][] = [
  ["x-api-key", "sk-ant-api03-client-key-AAAAAAAA"],
  ["authorization", "Bearer oauth-token-BBBBBBBB"],
  ["cookie", "session=cookie-value-CCCCCCCC; theme=dark-DDDDDDDD"],
  ["anthropic-beta", "oauth-2025-04-20"],
  ["content-type", "application/json"],
];

test("credential and cookie headers are replaced whole; the others are kept", () => {
  expect(redactHeaders(headers)).toEqual({
    "x-api-key": REDACTED,
    authorization: REDACTED,
    cookie: REDACTED,
    "anthropic-beta": "oauth-2025-04-20",
    "content-type": "application/json",
  });
});

test("known secrets, key-shaped strings and credential-named JSON fields are replaced anywhere", () => {
  const redact = redactor(["lane-key-EEEEEEEE", undefined, "abc", ...secretsInHeaders(headers)]);
  const text = JSON.stringify({
    messages: [{ role: "user", content: "my token is oauth-token-BBBBBBBB and the cookie cookie-value-CCCCCCCC, dark-DDDDDDDD; lane-key-EEEEEEEE" }],
    api_key: "plain-value-FFFFFFFF",
    nested: { refresh_token: "GGGGGGGG", password: "HHHHHHHH", session_id: "IIIIIIII" },
    other: "sk-proj-JJJJJJJJJJJJ Bearer KKKKKKKKKK eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXBhcnQ abc",
  });
  const out = redact(text);
  for (const s of ["BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "EEEEEEEE", "FFFFFFFF", "GGGGGGGG", "HHHHHHHH", "IIIIIIII", "JJJJJJJJ", "KKKKKKKKKK", "eyJhbGci", "AAAAAAAA"]) {
    expect(out).not.toContain(s);
  }
  expect(JSON.parse(out)).toMatchObject({ api_key: REDACTED, nested: { password: REDACTED } });
  // Short values are not treated as secrets (they would blank ordinary words).
  expect(out).toContain(" abc");
});
