import { describe, expect, test } from "bun:test";
import { browserPolicy, browserProblem, hostAllowed } from "../../src/server/browser-guard.ts";
import { prng } from "../support/usage-records.ts";

const SEED = 18_001;
const keyless = { key_set: false };
const policy = browserPolicy({
  host: "127.0.0.1",
  allowed_hosts: ["ccp.team.lan", ".corp.example"],
  allowed_origins: ["http://localhost:3000"],
  access: keyless,
});
const check = (url: string, headers: Record<string, string> = {}) => browserProblem(new URL(url), new Headers(headers), policy);

describe("the Host ccp answers for", () => {
  test.each([
    ["127.0.0.1", true],
    ["127.9.8.7", true],
    ["[::1]", true],
    ["::1", true],
    // Other addresses reach ccp too (0.0.0.0 does), but browsers send no Sec-Fetch-* to them.
    ["10.1.2.3", false],
    ["[fe80::1]", false],
    ["0.0.0.0", false],
    ["[::]", false],
    ["[::ffff:127.0.0.1]", false],
    ["localhost", true],
    ["LOCALHOST.", true],
    ["app.localhost", true],
    ["ccp.team.lan", true],
    ["corp.example", true],
    ["build.corp.example", true],
    ["attacker.example", false],
    ["localhost.attacker.example", false],
    ["127.0.0.1.nip.io", false],
    ["notcorp.example", false],
    ["ccp.team.lan.attacker.example", false],
  ])("%s → %p", (host, allowed) => {
    expect(hostAllowed(host, policy)).toBe(allowed);
  });

  test("the listen host is allowed when it is a name", () => {
    expect(hostAllowed("mybox", browserPolicy({ host: "mybox", allowed_hosts: [], allowed_origins: [], access: keyless }))).toBe(true);
    expect(hostAllowed("mybox", browserPolicy({ host: "0.0.0.0", allowed_hosts: [], allowed_origins: [], access: keyless }))).toBe(false);
  });

  test("with a proxy key any name is answered (no page can present the key); Origin is still checked", () => {
    const keyed = browserPolicy({ host: "0.0.0.0", allowed_hosts: [], allowed_origins: [], access: { key_set: true } });
    expect(hostAllowed("gateway.lan", keyed)).toBe(true);
    expect(browserProblem(new URL("http://gateway.lan:8082/v1/messages"), new Headers({ origin: "http://evil.example" }), keyed)).toMatch(/refused/);
  });

  test(`generated (seed ${SEED}): every loopback address is allowed, every other address and every name outside the list refused`, () => {
    const rnd = prng(SEED);
    const byte = () => Math.floor(rnd() * 256);
    const label = () => Array.from({ length: 1 + Math.floor(rnd() * 10) }, () => "abcdefghijklmnopqrstuvwxyz0123456789-"[Math.floor(rnd() * 36)]).join("");
    for (let i = 0; i < 2_000; i++) {
      const loop = `127.${byte()}.${byte()}.${byte()}`;
      const first = 1 + Math.floor(rnd() * 255);
      const v4 = `${first === 127 ? 128 : first}.${byte()}.${byte()}.${byte()}`;
      const v6 = `[${Array.from({ length: 8 }, () => Math.floor(rnd() * 65536).toString(16)).join(":")}]`;
      expect(check(`http://${loop}:8082/v1/messages`), `case ${i}: ${loop}`).toBeUndefined();
      expect(check(`http://${v4}:8082/v1/messages`), `case ${i}: ${v4}`).toContain("not one ccp answers for");
      expect(check(`http://${v6}:8082/status`), `case ${i}: ${v6}`).toContain("not one ccp answers for");
      const name = `${label()}.${label()}x.${["com", "example", "test", "io"][i % 4]}`;
      if (name.endsWith(".corp.example")) continue;
      expect(check(`http://${name}:8082/status`), `case ${i}: ${name}`).toContain("not one ccp answers for");
    }
  });
});

describe("requests from web pages", () => {
  test("Claude Code and the SDKs send neither Origin nor Sec-Fetch-Site: accepted", () => {
    expect(check("http://127.0.0.1:8082/v1/messages")).toBeUndefined();
    expect(check("http://localhost:8082/v1/messages", { "user-agent": "claude-cli/2.1" })).toBeUndefined();
  });

  test("ccp's own pages (same host and port) are accepted; the address bar too", () => {
    expect(check("http://127.0.0.1:8082/dashboard/data", { origin: "http://127.0.0.1:8082", "sec-fetch-site": "same-origin" })).toBeUndefined();
    expect(check("http://127.0.0.1:8082/dashboard", { "sec-fetch-site": "none" })).toBeUndefined();
    // Behind a TLS-terminating proxy the scheme differs; host and port are what make it ccp's page.
    expect(check("http://ccp.team.lan/dashboard/data", { origin: "https://ccp.team.lan" })).toBeUndefined();
  });

  test.each([
    [{ origin: "http://evil.example" }],
    [{ origin: "http://127.0.0.1:5173" }], // another port on the same machine is another origin
    [{ origin: "null" }], // sandboxed frames, file: pages
    [{ origin: "not a url" }],
    [{ "sec-fetch-site": "cross-site" }],
    [{ "sec-fetch-site": "same-site" }], // localhost:3000 → localhost:8082: ports do not make sites
    [{ origin: "http://127.0.0.1:8082", "sec-fetch-site": "cross-site" }],
  ])("%j is refused", (headers) => {
    expect(check("http://127.0.0.1:8082/v1/messages", headers)).toMatch(/refused/);
  });

  test("an origin in allowed_origins is accepted, whatever Sec-Fetch-Site says", () => {
    expect(check("http://127.0.0.1:8082/v1/messages", { origin: "http://localhost:3000", "sec-fetch-site": "same-site" })).toBeUndefined();
    expect(check("http://127.0.0.1:8082/v1/messages", { origin: "http://localhost:3001" })).toMatch(/allowed_origins/);
  });
});
