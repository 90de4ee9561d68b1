import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readEnv } from "../../src/config/env.ts";
import { loadConfig } from "../../src/config/load.ts";
import { HEAP_HINT_VAR } from "../../src/ops/heap-hint.ts";
import { ENV_PRELUDE, launchdPlist, programArguments } from "../../src/ops/launchd-plist.ts";
import { missingFromEnvFile, secretVariables, serviceSpec, type ServiceSpec } from "../../src/ops/service-spec.ts";
import { environmentLine, execPath, execWord, systemdUnit } from "../../src/ops/systemd-unit.ts";
import { scratchDir } from "../support/ccp.ts";
import { parsePlist } from "../support/plist.ts";
import { systemdWords } from "../support/systemd-words.ts";
import { prng } from "../support/usage-records.ts";

const SEED = Number(process.env.CCP_SERVICE_SEED ?? Date.now() % 1_000_000);
console.log(`service-files seed ${SEED} (CCP_SERVICE_SEED=${SEED} replays it)`);

/** Characters that break naive quoting in a unit, a shell or XML. */
const HARD = [" ", "%", "$", '"', "'", "\\", ";", "&", "<", ">", "#", "=", "é", "*", "`", "!", "{", "}", "-", "--", "%%", "$$", "\\\\"];
function trickyWord(rnd: () => number): string {
  let s = "";
  const n = 1 + Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) s += rnd() < 0.5 ? HARD[Math.floor(rnd() * HARD.length)]! : "abc/XYZ09._"[Math.floor(rnd() * 11)]!;
  return s;
}

const header = "Written by a test -- with dashes & <angle> brackets, 100% sure.\nSecond line.";

/** A spec as install builds it, from a real config in a scratch home. */
function spec(manager: "systemd" | "launchd", o: { exec?: string[]; home?: string; config?: string; env?: Record<string, string> } = {}): ServiceSpec {
  const home = o.home ?? scratchDir("ccp-service-spec-");
  const env = readEnv({ HOME: home, CCP_HOME: join(home, "state dir"), ...o.env });
  const config = loadConfig({ file: o.config, port: 8099, env: env.all });
  return serviceSpec({ manager, config, env, exec: o.exec ?? ["/opt/ccp/bin/ccp"] });
}

/** ExecStart= and Environment= read back as systemd reads them. */
function readUnit(text: string): { exec: string[]; env: Record<string, string>; envFile: string } {
  const setting = (k: string) => [...text.matchAll(new RegExp(`^${k}=(.*)$`, "gm"))].map((m) => m[1]!);
  // $ is expanded (and $$ is a $) in the arguments, not in the executable's path.
  const exec = systemdWords(setting("ExecStart")[0]!).map((w, i) => (i === 0 ? w : w.replaceAll("$$", "$")).replaceAll("%%", "%"));
  const env: Record<string, string> = {};
  for (const line of setting("Environment")) {
    for (const w of systemdWords(line)) {
      const [k, ...v] = w.replaceAll("%%", "%").split("=");
      env[k!] = v.join("=");
    }
  }
  return { exec, env, envFile: setting("EnvironmentFile")[0]!.replace(/^-/, "").replaceAll("%%", "%") };
}

describe("systemd unit", () => {
  test("ExecStart runs start --foreground on the config's port and profile, with CCP_SERVICE, CCP_HOME and the heap hint; Restart=on-failure, journal", () => {
    const s = spec("systemd");
    const text = systemdUnit(s, header);
    const back = readUnit(text);
    expect(back.exec).toEqual(["/opt/ccp/bin/ccp", "start", "--foreground", "--port", "8099", "--profile", "default"]);
    expect(back.env).toMatchObject({ CCP_SERVICE: "systemd:ccp.service", [HEAP_HINT_VAR]: "268435456" });
    expect(back.env.CCP_HOME).toEndWith("/state dir");
    for (const line of ["Restart=on-failure", "StandardOutput=journal", "StandardError=journal", "WantedBy=default.target", "RestartPreventExitStatus=2"]) expect(text).toContain(`\n${line}\n`);
    expect(text.startsWith("# Written by a test")).toBe(true);
  });

  test(`generated words and values read back unchanged (seed ${SEED})`, () => {
    const rnd = prng(SEED);
    for (let n = 0; n < 500; n++) {
      const words = [`/${trickyWord(rnd)}/ccp`, trickyWord(rnd), trickyWord(rnd)];
      const value = trickyWord(rnd);
      const file = `/${trickyWord(rnd)}/service.env`;
      const s: ServiceSpec = { ...spec("systemd", { home: "/tmp/x" }), argv: words, env: { ODD: value }, envFile: file };
      // systemd refuses these in the executable's path: ccp says so rather than write a unit that cannot start.
      if (/["'\\]/.test(words[0]!)) {
        expect(() => systemdUnit(s, header)).toThrow(/quote or a backslash/);
        continue;
      }
      const back = readUnit(systemdUnit(s, header));
      expect({ n, ...back }).toEqual({ n, exec: words, env: { ODD: value }, envFile: file });
    }
  });

  test("control characters are refused rather than written", () => {
    expect(() => execWord("a\nExecStartPre=/bin/evil")).toThrow(/control character/);
    expect(() => execPath("/opt/it's/ccp")).toThrow(/quote or a backslash/);
    expect(() => environmentLine("A", "x\ny")).toThrow(/control character/);
    expect(() => environmentLine("A B", "x")).toThrow(/not an environment variable name/);
  });

  test("passes systemd-analyze verify --user, with its executable under a path of spaces, % and $", async () => {
    const analyze = Bun.which("systemd-analyze");
    if (!analyze) {
      console.log("SKIP systemd-analyze verify: systemd-analyze is not installed here (Debian: apt-get install systemd)");
      return;
    }
    const root = scratchDir("ccp-unit-verify-");
    const binDir = join(root, "odd dir 100% $HOME");
    mkdirSync(binDir);
    const exe = join(binDir, "ccp");
    writeFileSync(exe, "#!/bin/sh\nexit 0\n");
    chmodSync(exe, 0o755);
    const runtime = join(root, "runtime");
    mkdirSync(runtime, { mode: 0o700 });
    const verify = async (text: string) => {
      const file = join(root, "ccp-dev.service");
      writeFileSync(file, text);
      const p = Bun.spawn([analyze, "verify", "--user", file], { env: { ...process.env, XDG_RUNTIME_DIR: runtime, HOME: root }, stdout: "pipe", stderr: "pipe" });
      const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
      return { code: await p.exited, said: (out + err).split("\n").filter((l) => l.includes("ccp-dev.service")) };
    };
    const config = join(root, "my configs 50%", "c$cp.toml");
    mkdirSync(join(root, "my configs 50%"));
    writeFileSync(config, '[lanes.a]\nbase_url = "https://example.test"\n[[routes]]\nmatch = "*"\nlane = "a"\n[profiles.dev]\n');
    const s = { ...spec("systemd", { exec: [exe], config, env: { CCP_PROFILE: "dev" } }) };
    expect(s.ref.name).toBe("ccp-dev.service");
    expect(await verify(systemdUnit(s, header))).toEqual({ code: 0, said: [] });
    // The check can fail: a missing executable, and a quote left open, are both caught.
    expect((await verify(systemdUnit({ ...s, argv: [join(binDir, "nope"), "start"] }, header))).code).not.toBe(0);
    expect((await verify(systemdUnit(s, header).replace(/^ExecStart=(.*)"$/m, "ExecStart=$1"))).code).not.toBe(0);
  });
});

describe("launchd plist", () => {
  test("a well-formed plist: Label, the env prelude then ccp, env, RunAtLoad, KeepAlive on failure, logs under the state dir", async () => {
    const s = spec("launchd");
    const text = launchdPlist(s, header);
    const plutil = Bun.which("plutil");
    if (plutil) {
      const file = join(scratchDir("ccp-plist-"), "local.ccp.plist");
      writeFileSync(file, text);
      expect(Bun.spawnSync([plutil, "-lint", file]).exitCode).toBe(0);
    } else console.log("plutil is absent here: the plist is checked by test/support/plist.ts (XML well-formedness and plist structure)");
    const p = parsePlist(text) as Record<string, unknown>;
    expect(p.Label).toBe("local.ccp");
    expect(p.ProgramArguments).toEqual(["/bin/sh", "-c", ENV_PRELUDE, "ccp-service", s.envFile, "/opt/ccp/bin/ccp", "start", "--foreground", "--port", "8099", "--profile", "default"]);
    expect(p.EnvironmentVariables).toEqual({ ...s.env });
    expect(p).toMatchObject({ RunAtLoad: true, KeepAlive: { SuccessfulExit: false }, StandardOutPath: s.log!, StandardErrorPath: s.log! });
    expect(s.log).toEndWith("/state dir/ccp-8099.out");
    expect((p.EnvironmentVariables as Record<string, string>).CCP_SERVICE).toBe("launchd:local.ccp");
  });

  test(`generated arguments and values read back unchanged through XML (seed ${SEED})`, () => {
    const rnd = prng(SEED + 1);
    for (let n = 0; n < 500; n++) {
      const words = [`/${trickyWord(rnd)}/ccp`, trickyWord(rnd)];
      const env = { ODD: trickyWord(rnd) };
      const s: ServiceSpec = { ...spec("launchd", { home: "/tmp/x" }), argv: words, env, log: `/${trickyWord(rnd)}.out` };
      const p = parsePlist(launchdPlist(s, `${trickyWord(rnd)}--${trickyWord(rnd)}-`)) as Record<string, unknown>;
      expect({ n, args: p.ProgramArguments, env: p.EnvironmentVariables, log: p.StandardOutPath }).toEqual({ n, args: programArguments(s), env, log: s.log! });
    }
  });

  test("the checker refuses what is not a plist", () => {
    const good = launchdPlist(spec("launchd"), header);
    expect(() => parsePlist(good.replace("<string>local.ccp</string>", "<string>a & b</string>"))).toThrow(/entity/);
    expect(() => parsePlist(good.replace("<string>local.ccp</string>", "<string>a < b</string>"))).toThrow();
    expect(() => parsePlist(good.replace("</array>", ""))).toThrow();
    expect(() => parsePlist(good.replace("<!-- Written by a test", "<!-- Written -- by a test"))).toThrow(/--/);
    expect(() => parsePlist(good.replace("<key>RunAtLoad</key>", "<key>Label</key>"))).toThrow(/twice/);
  });

  test("the prelude reads the env file when there is one and execs the arguments unchanged", () => {
    const dir = scratchDir("ccp-prelude-");
    const envFile = join(dir, "service env");
    const script = join(dir, "show");
    writeFileSync(script, '#!/bin/sh\nprintf "%s|" "$ZAI_API_KEY" "$@"\n');
    chmodSync(script, 0o755);
    const run = (file: string) => Bun.spawnSync(["/bin/sh", "-c", ENV_PRELUDE, "ccp-service", file, script, "a b", "$HOME", "'q'"], { env: { PATH: "/usr/bin:/bin" } }).stdout.toString();
    expect(run(envFile)).toBe("|a b|$HOME|'q'|");
    writeFileSync(envFile, "# lane keys\nZAI_API_KEY=zai-key-from-file\n");
    expect(run(envFile)).toBe("zai-key-from-file|a b|$HOME|'q'|");
  });
});

describe("what the service gets of this environment", () => {
  test("ccp's settings and the heap hint, never a secret; the secrets it needs are named", () => {
    const home = scratchDir("ccp-service-env-");
    const config = join(home, "c.toml");
    writeFileSync(
      config,
      '[lanes.zai]\nbase_url = "https://z.example"\nauth = "key"\nkey_env = "ZAI_API_KEY"\ndialect = "zai"\n[lanes.a]\nbase_url = "https://a.example"\n[[routes]]\nmatch = "*"\nlane = "zai"\n',
    );
    const secrets = { ZAI_API_KEY: "zai-secret-value-123456", CCP_PROXY_KEY: "proxy-secret-value-123456", ANTHROPIC_API_KEY: "sk-ant-client" };
    const s = spec("systemd", { home, config, env: { ...secrets, MITM_FORCE_H1: "1", CCP_PERSIST: "0", [HEAP_HINT_VAR]: "134217728" } });
    const text = systemdUnit(s, header);
    for (const v of Object.values(secrets)) expect(text).not.toContain(v);
    expect(readUnit(text).env).toMatchObject({ MITM_FORCE_H1: "1", CCP_PERSIST: "0", [HEAP_HINT_VAR]: "134217728" });
    expect(readUnit(text).exec).toContain(config);
    const cfg = loadConfig({ file: config, env: { HOME: home, ...secrets } });
    expect(secretVariables(cfg)).toEqual(["ZAI_API_KEY", "CCP_PROXY_KEY"]);
    expect(missingFromEnvFile(undefined, ["ZAI_API_KEY"])).toEqual(["ZAI_API_KEY"]);
    expect(missingFromEnvFile("# x\nexport ZAI_API_KEY=1\n", ["ZAI_API_KEY", "CCP_PROXY_KEY"])).toEqual(["CCP_PROXY_KEY"]);
  });
});
