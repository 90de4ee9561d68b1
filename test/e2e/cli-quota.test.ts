import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cliHome, expectExit, freePort, runCli } from "../support/cli.ts";
import { quotaFor, startQuotaStub, type QuotaStub } from "../support/quota-stub.ts";

/**
 * `ccp quota` and the quota column of `ccp status`, run as
 * the real CLI against a stub ccp that answers /healthz, /status and /quota with fixed bodies.
 */
setDefaultTimeout(60_000);

let stub: QuotaStub;
beforeAll(() => {
  stub = startQuotaStub();
});
afterAll(() => stub?.stop());

describe("ccp quota", () => {
  test("one row per plan and window, then walls, overage and a failing quota endpoint", async () => {
    const h = cliHome();
    const r = expectExit(await runCli(["quota", "--port", String(stub.port)], { env: h.env }), 0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]!.split(/\s{2,}/)).toEqual(["lane", "credential", "window", "used", "resets in", "status", "source", "age"]);
    expect(lines[1]!.split(/\s{2,}/)).toEqual(["zai", "lane", "5h", "42%", "2h10m", "allowed", "endpoint", "12s ago"]);
    expect(lines[3]!.split(/\s{2,}/)).toEqual(["anthropic", "client:3f9a0c1b2d4e", "5h", "102%", "45m", "rejected", "headers", "1m ago"]);
    expect(lines[4]!.split(/\s{2,}/)).toEqual(["backup", "none", "-", "-", "-", "no reading yet", "-", "-"]);
    expect(r.stdout).toContain("wall     anthropic (client:3f9a0c1b2d4e): 5h limit reached (rejected); resets in 45m");
    expect(r.stdout).toContain("overage  anthropic (client:3f9a0c1b2d4e): in use");
    expect(r.stdout).toContain("poll     backup: its quota endpoint is failing; no reading yet");
    expect(r.stderr).toBe("");
  });

  test("--json prints the body as it came; the port may be given as an argument", async () => {
    const h = cliHome();
    const r = expectExit(await runCli(["quota", String(stub.port), "--json"], { env: h.env }), 0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(quotaFor(null))));
  });

  test("not running: the words and exit code of ccp status, --json too", async () => {
    const h = cliHome();
    const port = String(await freePort());
    for (const json of [[], ["--json"]]) {
      const quota = expectExit(await runCli(["quota", "--port", port, ...json], { env: h.env }), 3);
      const status = expectExit(await runCli(["status", "--port", port, ...json], { env: h.env }), 3);
      expect(quota.stdout).toBe(status.stdout);
    }
    expect(expectExit(await runCli(["quota", port], { env: h.env }), 3).stdout).toBe(`ccp is not running on port ${port}\n`);
  });

  test("a keyed ccp: without the key, what ccp status says; with it, the table", async () => {
    const keyed = startQuotaStub({ key: "a-proxy-key-of-enough-length" });
    try {
      const h = cliHome();
      const port = String(keyed.port);
      const quota = expectExit(await runCli(["quota", "--port", port], { env: h.env }), 0);
      expect(quota.stdout).toBe(expectExit(await runCli(["status", "--port", port], { env: h.env }), 0).stdout);
      expect(quota.stdout).toContain("asks for its proxy key");
      const withKey = expectExit(await runCli(["quota", "--port", port], { env: { ...h.env, CCP_PROXY_KEY: "a-proxy-key-of-enough-length" } }), 0);
      expect(withKey.stdout).toContain("zai        lane");
    } finally {
      keyed.stop();
    }
  });

  test("a ccp without GET /quota (started by an older version): a clear error, exit 1", async () => {
    const old = startQuotaStub({ noQuota: true });
    try {
      const r = expectExit(await runCli(["quota", "--port", String(old.port)], { env: cliHome().env }), 1);
      expect(r.stderr).toContain(`ccp: the ccp on port ${old.port} has no GET /quota`);
      expect(r.stderr).toContain(`hint: ccp restart ${old.port}`);
    } finally {
      old.stop();
    }
  });
});

describe("ccp status's quota column", () => {
  test("each lane's 5h / 7d use; '-' for a lane without readings, and for every lane when /quota fails", async () => {
    const h = cliHome();
    const r = expectExit(await runCli(["status", "--port", String(stub.port)], { env: h.env }), 0);
    expect(r.stdout).toMatch(/credentials\s+requests\s+errors\s+quota 5h \/ 7d\n/);
    expect(r.stdout).toMatch(/\nzai\s+h1\s.*\s120\s+0\s+42% \/ 13%\n/);
    expect(r.stdout).toMatch(/\nanthropic\s+h2\s.*\s40\s+2\s+102% \/ -\n/);
    const old = startQuotaStub({ noQuota: true });
    try {
      const without = expectExit(await runCli(["status", "--port", String(old.port)], { env: h.env }), 0);
      expect(without.stdout).toMatch(/\nzai\s+h1\s.*\s120\s+0\s+-\n/);
    } finally {
      old.stop();
    }
  });
});
