import { describe, expect, test } from "bun:test";
import { nextStep, type RunningNow } from "../../src/cli/commands/config.ts";
import { loadConfig } from "../../src/config/load.ts";
import { CONFIG_TEMPLATE } from "../../src/config/template.ts";
import { writeConfig } from "../support/config-file.ts";

const load = (toml: string) => loadConfig({ file: writeConfig(toml), env: { HOME: "/home/u", ZAI_API_KEY: "k" } });

describe("config init's template", () => {
  test('offers transport = "auto" where the lanes\' transports are, and the offer works as written', () => {
    expect(load(CONFIG_TEMPLATE).lanes.zai?.transport).toBe("h1");
    expect(CONFIG_TEMPLATE).toContain('transport = "h2"          # "h1" | "h2" | "auto"');
    const offer = CONFIG_TEMPLATE.split("\n").find((l) => l.startsWith('# transport = "auto"'));
    expect(offer).toBeDefined();
    // Taken as its comment says (instead of the line above), it loads as an auto lane.
    const lines = CONFIG_TEMPLATE.split("\n");
    const at = lines.indexOf(offer!);
    const taken = [...lines.slice(0, at - 1), offer!.slice(2), ...lines.slice(at + 1)].join("\n");
    expect(load(taken).lanes.zai?.transport).toBe("auto");
  });
});

describe("config init's next step", () => {
  const file = "/home/u/.config/ccp/config.toml";
  const step = (running: RunningNow, o: { byDefault?: boolean; zaiKeySet?: boolean; file?: string } = {}) =>
    nextStep({ file: o.file ?? file, byDefault: o.byDefault ?? true, zaiKeySet: o.zaiKeySet ?? false, running });

  test("nothing running: check, then start", () => {
    expect(step({ kind: "none" })).toBe("next: export ZAI_API_KEY=... (or remove the zai lane), then ccp config check && ccp start");
    expect(step({ kind: "none" }, { zaiKeySet: true, byDefault: false, file: "/tmp/my ccp.toml" })).toBe("next: ccp config check --config '/tmp/my ccp.toml' && ccp start --config '/tmp/my ccp.toml'");
  });

  test("one running: never ccp start (it would be refused), but the restart that uses the file", () => {
    const other = step({ kind: "one", port: 8083, config: null }, { zaiKeySet: true });
    expect(other).toStartWith(`next: ccp config check && ccp restart 8083 --config ${file}   (a ccp is already running on port 8083`);
    expect(other).not.toContain("ccp start");
    expect(step({ kind: "one", port: 8082, config: file }, { zaiKeySet: true })).toStartWith("next: ccp config check && ccp restart 8082   (the ccp on port 8082 runs with this file");
    expect(step({ kind: "one", port: 8082, config: undefined }, { zaiKeySet: true })).toContain(`ccp restart 8082 --config ${file}`);
  });

  test("several running: names them, starts none", () => {
    const s = step({ kind: "several", ports: [8082, 8083] }, { zaiKeySet: true });
    expect(s).toBe(`next: ccp config check; ccp instances are running on ports 8082, 8083: ccp restart <port> --config ${file} moves one of them to this file`);
  });
});
