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
    expect(renderEnv("fish", plan)).toBe(
      "set -gx ANTHROPIC_BASE_URL 'http://127.0.0.1:8082';\nset -e HTTPS_PROXY;\nset -e HTTP_PROXY;\nset -e https_proxy;\nset -e http_proxy;",
    );
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
