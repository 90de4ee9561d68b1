import { describe, expect, test } from "bun:test";
import { applyPlan, proxyEnvPlan, renderEnv, shellFromPath } from "../../src/ops/shell-env.ts";

describe("ccp env lines", () => {
  const plan = proxyEnvPlan("http://127.0.0.1:8082");

  test("bash and zsh", () => {
    const want = "export ANTHROPIC_BASE_URL='http://127.0.0.1:8082';\nunset HTTPS_PROXY HTTP_PROXY https_proxy http_proxy;";
    expect(renderEnv("bash", plan)).toBe(want);
    expect(renderEnv("zsh", plan)).toBe(want);
  });

  test("fish", () => {
    expect(renderEnv("fish", plan)).toBe("set -gx ANTHROPIC_BASE_URL 'http://127.0.0.1:8082';\nset -e HTTPS_PROXY;\nset -e HTTP_PROXY;\nset -e https_proxy;\nset -e http_proxy;");
  });

  test("values are quoted for each shell", () => {
    const odd = { set: { X: `it's a "b" $c \\d` }, unset: [] };
    expect(renderEnv("bash", odd)).toBe(`export X='it'\\''s a "b" $c \\d';`);
    expect(renderEnv("fish", odd)).toBe(`set -gx X 'it\\'s a "b" $c \\\\d';`);
    const out = Bun.spawnSync(["bash", "-c", `${renderEnv("bash", odd)} printf %s "$X"`]).stdout.toString();
    expect(out).toBe(odd.set.X);
  });

  test("shell from $SHELL, bash when unknown", () => {
    expect(shellFromPath("/usr/bin/fish")).toBe("fish");
    expect(shellFromPath("/bin/zsh")).toBe("zsh");
    expect(shellFromPath("/bin/tcsh")).toBe("bash");
    expect(shellFromPath(undefined)).toBe("bash");
  });

  test("a child's environment: parent's, proxies removed, base URL set", () => {
    expect(applyPlan({ PATH: "/bin", HTTPS_PROXY: "p", http_proxy: "p", ANTHROPIC_BASE_URL: "old", EMPTY: undefined }, plan)).toEqual({
      PATH: "/bin",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:8082",
    });
  });
});

describe("a proxy that wants a key", () => {
  const plan = proxyEnvPlan("http://127.0.0.1:8082", "CCP_PROXY_KEY");
  test("env output refers to the variable and never prints the key", () => {
    expect(renderEnv("bash", plan)).toEndWith('\nexport ANTHROPIC_CUSTOM_HEADERS="x-ccp-key: ${CCP_PROXY_KEY}";');
    expect(renderEnv("fish", plan)).toEndWith('\nset -gx ANTHROPIC_CUSTOM_HEADERS "x-ccp-key: $CCP_PROXY_KEY";');
  });
  test("a wrapped command gets the header with the value, after any custom headers it had", () => {
    expect(applyPlan({ CCP_PROXY_KEY: "k".repeat(20) }, plan).ANTHROPIC_CUSTOM_HEADERS).toBe(`x-ccp-key: ${"k".repeat(20)}`);
    expect(applyPlan({ CCP_PROXY_KEY: "secret-key-123456", ANTHROPIC_CUSTOM_HEADERS: "x-a: 1" }, plan).ANTHROPIC_CUSTOM_HEADERS).toBe("x-a: 1\nx-ccp-key: secret-key-123456");
    expect(applyPlan({}, plan).ANTHROPIC_CUSTOM_HEADERS).toBeUndefined();
  });
});

test("the key variable is the config's proxy_key_env when it names one, else CCP_PROXY_KEY; only when it is set", async () => {
  const { writeConfig } = await import("../support/config-file.ts");
  const { proxyKeyEnvFor } = await import("../../src/ops/shell-env.ts");
  const file = writeConfig(`proxy_key_env = "TEAM_CCP_KEY"\n[lanes.a]\nbase_url = "https://x.test"\n[[routes]]\nmatch = "*"\nlane = "a"\n`);
  expect(proxyKeyEnvFor({ HOME: "/nonexistent", CCP_CONFIG: file, TEAM_CCP_KEY: "k".repeat(24) })).toBe("TEAM_CCP_KEY");
  expect(proxyKeyEnvFor({ HOME: "/nonexistent", CCP_CONFIG: file, CCP_PROXY_KEY: "k".repeat(24) })).toBeUndefined();
  expect(proxyKeyEnvFor({ HOME: "/nonexistent", CCP_PROXY_KEY: "k".repeat(24) })).toBe("CCP_PROXY_KEY");
  expect(proxyKeyEnvFor({ HOME: "/nonexistent" })).toBeUndefined();
});
