import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { effectiveConfigFile, maskedConfig } from "../../src/cli/commands/config.ts";
import { toToml } from "../../src/cli/toml-out.ts";
import { CONFIG_TEMPLATE } from "../../src/config/template.ts";
import { loadConfig } from "../../src/config/load.ts";
import { scratchDir } from "../support/ccp.ts";
import { writeConfig } from "../support/config-file.ts";

describe("config show and init", () => {
  const home = scratchDir();
  const env = { HOME: home, CCP_HOME: join(home, "state"), ZAI_API_KEY: "zai-secret-abc" };

  test("the init template is a valid config", () => {
    const c = loadConfig({ file: writeConfig(CONFIG_TEMPLATE), env });
    expect(Object.keys(c.lanes).sort()).toEqual(["anthropic", "zai"]);
    expect(loadConfig({ file: writeConfig(CONFIG_TEMPLATE), env, profile: "dev" }).persist).toBe(false);
  });

  test("show masks the lane key and round-trips through TOML", () => {
    const c = loadConfig({ file: writeConfig(CONFIG_TEMPLATE), env });
    const masked = maskedConfig(c);
    const text = toToml(masked);
    expect(text).not.toContain("zai-secret-abc");
    const back = Bun.TOML.parse(text) as Record<string, unknown>;
    expect(back).toEqual(JSON.parse(JSON.stringify(masked)));
    expect((back.lanes as Record<string, Record<string, unknown>>).zai!.key).toBe("********");
  });

  test("show's TOML is a config file that loads back to the same settings (profile and environment applied)", () => {
    const c = loadConfig({ file: writeConfig(CONFIG_TEMPLATE), env, profile: "dev" });
    const text = toToml(effectiveConfigFile(c));
    expect(text).not.toContain("zai-secret-abc");
    const back = loadConfig({ file: writeConfig(text), env });
    const { source: _a, ...was } = c;
    const { source: _b, ...now } = back;
    expect({ ...now, access: { ...now.access }, profile: "dev" }).toEqual({ ...was, access: { ...was.access } });
  });

  test("a missing key says so, a passthrough lane has no key field", () => {
    const masked = maskedConfig(loadConfig({ file: writeConfig(CONFIG_TEMPLATE), env: { HOME: home, CCP_HOME: join(home, "state") } }));
    const lanes = masked.lanes as Record<string, Record<string, unknown>>;
    expect(lanes.zai!.key).toBe("(not set)");
    expect("key" in lanes.anthropic!).toBe(false);
  });
});
