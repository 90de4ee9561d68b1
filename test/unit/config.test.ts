import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError, loadConfig, nearest } from "../../src/config/load.ts";
import { writeConfig } from "../support/config-file.ts";
import { ISSUE_CONFIG } from "../support/issue-config.ts";

const load = (toml: string, opts: { profile?: string; env?: Record<string, string> } = {}) => loadConfig({ file: writeConfig(toml), profile: opts.profile, env: { HOME: "/home/u", ...opts.env } });

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
};

describe("the issue's config file", () => {
  test("loads exactly as written", () => {
    const c = load(ISSUE_CONFIG, { env: { ZAI_API_KEY: "zk-secret" } });
    expect(c).toMatchObject({ port: 8082, persist: true, fallback: "off", profile: "default", home: "/home/u/.local/state/ccp" });
    expect(c.lanes.anthropic).toMatchObject({ auth: "passthrough", transport: "h2", dialect: "anthropic", timeouts: { headers_ms: 300_000 } });
    expect(c.lanes.zai).toMatchObject({
      auth: "key",
      key: "zk-secret",
      header: "x-api-key",
      transport: "h1",
      dialect: "zai",
      models: { "claude-haiku-*": "glm-4.5-air" },
    });
    expect(c.routes.map((r) => r.lane)).toEqual(["zai", "anthropic"]);
  });

  test("profile dev overlays persist and dotted lane keys", () => {
    const c = load(ISSUE_CONFIG, { profile: "dev" });
    expect(c.persist).toBe(false);
    expect(c.profile).toBe("dev");
    expect(c.lanes.zai?.transport).toBe("h1");
    expect(c.lanes.zai?.base_url).toBe("https://api.z.ai/api/anthropic");
  });

  test("$CCP_PROFILE picks the profile; --profile wins over it", () => {
    expect(load(ISSUE_CONFIG, { env: { CCP_PROFILE: "dev" } }).persist).toBe(false);
    expect(errorOf(() => load(ISSUE_CONFIG, { profile: "prod", env: { CCP_PROFILE: "dev" } }))).toContain('profile "prod" is not defined (known: dev)');
  });
});

describe("environment overrides", () => {
  const h2zai = ISSUE_CONFIG.replace('transport = "h1"\ndialect = "zai"', 'transport = "h2"\ndialect = "zai"');

  test("MITM_FORCE_H1=1 flips non-anthropic lanes to h1 and leaves the anthropic lane alone", () => {
    expect(load(h2zai).lanes.zai?.transport).toBe("h2");
    const c = load(h2zai, { env: { MITM_FORCE_H1: "1" } });
    expect(c.lanes.zai?.transport).toBe("h1");
    expect(c.lanes.anthropic?.transport).toBe("h2");
  });

  test("CCP_PERSIST=0 turns persistence off; CCP_HOME moves state", () => {
    const c = load(ISSUE_CONFIG, { env: { CCP_PERSIST: "0", CCP_HOME: "/srv/ccp" } });
    expect(c.persist).toBe(false);
    expect(c.home).toBe("/srv/ccp");
  });
});

describe("defaults with no file", () => {
  test("everything to anthropic over h2 with passthrough; no zai lane without a key", () => {
    const c = loadConfig({ env: { HOME: "/nonexistent-home" } });
    expect(c.source).toBeUndefined();
    expect(Object.keys(c.lanes)).toEqual(["anthropic"]);
    expect(c.lanes.anthropic).toMatchObject({ base_url: "https://api.anthropic.com", auth: "passthrough", transport: "h2" });
    expect(c.port).toBe(8082);
  });

  test("ZAI_API_KEY adds the zai lane (h1) for claude-haiku-*", () => {
    const c = loadConfig({ env: { HOME: "/nonexistent-home", ZAI_API_KEY: "k" } });
    expect(c.lanes.zai).toMatchObject({ transport: "h1", auth: "key", key: "k", dialect: "zai" });
    expect(c.routes[0]).toEqual({ match: "claude-haiku-*", lane: "zai", lanes: ["zai"], quota_threshold: 1 });
  });

  test("$CCP_CONFIG names the file; a missing explicit file is an error", () => {
    expect(errorOf(() => loadConfig({ env: { CCP_CONFIG: "/no/such/ccp.toml" } }))).toBe("/no/such/ccp.toml: config file not found");
  });
});

describe("validation errors name the file and the key", () => {
  const lanes = `[lanes.a]\nbase_url = "https://x.test"\n`;
  test.each([
    [`${lanes}[[routes]]\nmatch = "*"\nlane = "b"\n`, 'routes[0].lanes: names lane "b", which is not defined'],
    [`[lanes.a]\nbase_url = "https://x.test"\ntransport = "h3"\n[[routes]]\nmatch = "*"\nlane = "a"\n`, "lanes.a.transport:"],
    [`[lanes.a]\nbase_url = "https://x.test"\nauth = "key"\n[[routes]]\nmatch = "*"\nlane = "a"\n`, 'lanes.a.key_env: auth = "key" needs key_env'],
    [`[lanes.a]\nbase_url = "not a url"\n[[routes]]\nmatch = "*"\nlane = "a"\n`, "lanes.a.base_url: must be an absolute URL"],
    [`port = "eighty"\n${lanes}[[routes]]\nmatch = "*"\nlane = "a"\n`, "port:"],
    [
      `${lanes}[[routes]]\nmatch = "*"\nlane = "a"\ntypo_key = 1\n`,
      "routes[0].typo_key: unknown key (known here: match, lane, lanes, quota_threshold, model, name, subagent, thinking, min_input_tokens, tools_include)",
    ],
    [`${lanes}`, "routes:"],
    [`[lanes.a]\nbase_url = "http://x.test"\ntransport = "h2"\n[[routes]]\nmatch = "*"\nlane = "a"\n`, 'lanes.a.transport: transport = "h2" or "auto" needs an https:// base_url'],
    [`[lanes.Bad]\nbase_url = "https://x.test"\n[[routes]]\nmatch = "*"\nlane = "Bad"\n`, "lanes.Bad: lane names are lower-case letters, digits, - and _"],
  ])("%#", (toml, expected) => {
    const message = errorOf(() => load(toml));
    expect(message).toContain("config.toml: invalid configuration");
    expect(message).toContain(expected);
  });

  test("a missing required key says what to add, in the file's own terms", () => {
    expect(errorOf(() => load(lanes))).toEndWith('\n  routes: required: add at least one [[routes]] entry, e.g. match = "*" and lane = "a"');
    expect(errorOf(() => load(`[[routes]]\nmatch = "*"\nlane = "a"\n`))).toContain("  lanes: required: add at least one [lanes.<name>] table");
    const entry = errorOf(() => load(`[lanes.a]\nauth = "passthrough"\n[[routes]]\nlane = "a"\n`));
    expect(entry).toContain('  lanes.a.base_url: required: the upstream\'s URL, e.g. base_url = "https://api.anthropic.com"');
    expect(entry).toContain('  routes[0].match: required: the glob over the client\'s model, e.g. match = "*"');
    // A key that is there but wrong keeps its own reason.
    expect(errorOf(() => load(`routes = "all"\n${lanes}`))).toContain("  routes: Invalid input: expected array, received string");
  });

  test("a misspelled key at any level gets the nearest known key of its table", () => {
    const message = errorOf(() =>
      load(`prot = 8082\n[lanes.a]\nbase_url = "https://x.test"\ntrasport = "h2"\nkeyEnv = "K"\ntimeouts = { conect_ms = 1 }\n[[routes]]\nmatch = "*"\nlane = "a"\nmodle = "x"\n`),
    );
    for (const line of [
      "  prot: unknown key (did you mean port?)",
      "  lanes.a.trasport: unknown key (did you mean transport?)",
      "  lanes.a.keyEnv: unknown key (did you mean key_env?)",
      "  lanes.a.timeouts.conect_ms: unknown key (did you mean connect_ms?)",
      "  routes[0].modle: unknown key (did you mean model?)",
    ]) {
      expect(message.split("\n")).toContain(line);
    }
    // Through a profile too: the overlay's keys are checked once applied.
    const overlay = errorOf(() => load(`${lanes}[[routes]]\nmatch = "*"\nlane = "a"\n[profiles.dev]\nfalback = "any"\n`, { profile: "dev" }));
    expect(overlay).toContain('(with profile "dev" applied)\n  falback: unknown key (did you mean fallback?)');
  });

  test("nearest: the fewest edits, ties all named, nothing far-fetched", () => {
    expect(nearest("trasnport", ["transport", "timeouts"])).toEqual(["transport"]);
    expect(nearest("Persist", ["persist", "port"])).toEqual(["persist"]);
    expect(nearest("hots", ["host", "port"])).toEqual(["host"]);
    expect(nearest("rout", ["routes", "port"])).toEqual(["routes", "port"]);
    expect(nearest("xyz", ["port", "host"])).toEqual([]);
    expect(nearest("whatever", ["base_url", "auth", "header"])).toEqual([]);
    expect(nearest("lan", ["lane", "land"])).toEqual(["lane", "land"]);
  });

  test("a bad --host is blamed on --host, not on the file", () => {
    const e = (() => {
      try {
        loadConfig({ file: writeConfig(ISSUE_CONFIG), host: "http://x", env: { HOME: "/home/u" } });
      } catch (err) {
        return err as ConfigError;
      }
    })();
    expect(e?.message).toBe('--host "http://x": must be an IP address or a host name');
    expect(e?.hint).toContain("127.0.0.1");
  });

  test("a missing file and an unknown profile come with their own hint", () => {
    const hintOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as ConfigError).hint;
      }
    };
    expect(hintOf(() => loadConfig({ file: "/nonexistent/ccp.toml", env: { HOME: "/home/u" } }))).toContain("ccp config init --config /nonexistent/ccp.toml");
    expect(hintOf(() => load(ISSUE_CONFIG, { profile: "prod" }))).toContain("[profiles.prod]");
  });

  test("bad TOML names the file and the line", () => {
    expect(errorOf(() => load("port = = 1"))).toMatch(/config\.toml:1: not valid TOML: Expected a value/);
    expect(errorOf(() => load(`port = 8082\n# a comment\n[lanes.a\nbase_url = "https://x.test"\n`))).toMatch(/config\.toml:3: not valid TOML: Expected ']'/);
  });

  test("a lane's ca_file is read at load, relative to the config file's directory", () => {
    const file = writeConfig(`[lanes.a]\nbase_url = "https://x.test"\nca_file = "ca.pem"\n[[routes]]\nmatch = "*"\nlane = "a"\n`);
    const loadIt = () => loadConfig({ file, env: { HOME: "/home/u" } });
    const abs = join(dirname(file), "ca.pem");
    expect(errorOf(loadIt)).toBe(`${file}: invalid configuration\n  lanes.a.ca_file: cannot read ${abs}: no such file`);
    writeFileSync(abs, "not a certificate\n");
    expect(errorOf(loadIt)).toEndWith(`  lanes.a.ca_file: ${abs} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    writeFileSync(abs, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    expect(loadIt().lanes.a?.ca_file).toBe(abs);
  });

  test("an error inside a profile says the profile was applied", () => {
    const message = errorOf(() => load(ISSUE_CONFIG.replace('lanes.zai.transport = "h1"', 'lanes.zai.transport = "h9"'), { profile: "dev" }));
    expect(message).toContain('(with profile "dev" applied)');
    expect(message).toContain("lanes.zai.transport");
  });
});
