import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { programArguments } from "../../src/ops/launchd-plist.ts";
import type { ServiceSpec } from "../../src/ops/service-spec.ts";

/**
 * Attack review (careless user / hostile value): the launchd agent's prelude reads service.env by
 * sourcing it (`. "$f"` under sh), so the file README calls "NAME=value lines" is shell code on
 * macOS, while systemd's EnvironmentFile= (Linux) takes the values as text. A secret as providers
 * issue them (with $, a backtick, a space or a ;) reaches ccp changed, or runs as a command.
 *
 * FINDING (fails on the current code): the prelude run by /bin/sh here, exactly as launchd runs it.
 */
const dir = mkdtempSync(join(tmpdir(), "ccp-attack-env-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(envText: string): { env: Record<string, string>; marker: boolean } {
  const envFile = join(dir, "service.env");
  const marker = join(dir, "ran");
  rmSync(marker, { force: true });
  writeFileSync(envFile, envText.replaceAll("MARKER", marker), { mode: 0o600 });
  const spec: ServiceSpec = { ref: { manager: "launchd", name: "local.ccp" }, description: "", argv: ["/usr/bin/env"], env: {}, envFile, log: undefined };
  const r = Bun.spawnSync(programArguments(spec), { env: { PATH: "/usr/bin:/bin", HOME: dir } });
  const env = Object.fromEntries(
    r.stdout
      .toString()
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return { env, marker: existsSync(marker) };
}

describe("attack-local: launchd's service.env prelude", () => {
  test("a key holding $ or a backtick reaches ccp as written (as systemd's EnvironmentFile= gives it)", () => {
    const { env } = run("ZAI_API_KEY=zk-ab$HOME`x`cd\n");
    expect(env.ZAI_API_KEY).toBe("zk-ab$HOME`x`cd");
  });

  test("a value in service.env is never run as a command", () => {
    const { marker } = run("CCP_PROXY_KEY=k1;touch MARKER\nOTHER=$(touch MARKER)\n");
    expect(marker).toBe(false);
  });
});
