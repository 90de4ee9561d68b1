import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { isPortBusy } from "../../src/ops/health.ts";
import { startServer, type RunningServer } from "../../src/server/serve.ts";
import { ccpCommand, laneConfig, startCcp } from "../support/ccp.ts";
import { cliHome, expectExit, freePort, killLeftovers, runCli, type CliHome } from "../support/cli.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { readUsageLines } from "../support/usage-file.ts";

/**
 * The state directory cannot be turned against its owner (SECURITY.md): with a CCP_HOME others
 * can write, planted links would make ccp truncate or append to another of the user's files
 * (a shell rc file, where a model name like "$(cmd)" in a usage line runs when it is sourced).
 */
setDefaultTimeout(120_000);

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

/** A refusal takes well under a second; a start that does not refuse is cut here, so it fails the test rather than hanging it. */
const REFUSAL_MS = 30_000;
const RC = "# ~/.bashrc\nexport PATH=$HOME/bin:$PATH\nalias ll='ls -l'\n";
const ZAI = { ZAI_API_KEY: "zai-state-dir-key" };

function configFile(h: CliHome, extra = ""): string {
  const file = join(h.home, "ccp.toml");
  writeFileSync(file, laneConfig(upstream.url, upstream.caFile).replace("port = 0", `port = 0\n${extra}`));
  return file;
}

async function post(port: number): Promise<Response> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "claude-haiku-4-5", stream: true, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.text();
  return res;
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** Every entry under `root`: "relative/path kind mode". */
function walk(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const st = lstatSync(path);
    const kind = st.isSymbolicLink() ? "link" : st.isDirectory() ? "dir" : st.isFile() ? "file" : "other";
    const line = `${relative(root, path)} ${kind} ${(st.mode & 0o777).toString(8)}`;
    return st.isDirectory() ? [line, ...walk(root, path)] : [line];
  });
}

describe("a state directory others can write", () => {
  test("world-writable CCP_HOME: start (foreground and detached), restart and wrap --start refuse with exit 2, say how to fix it, and write nothing", async () => {
    const h = cliHome(ZAI);
    const config = configFile(h);
    const port = await freePort();
    mkdirSync(h.state);
    chmodSync(h.state, 0o777);
    try {
      for (const args of [
        ["start", "--foreground", "--port", String(port), "--config", config],
        ["start", "--port", String(port), "--config", config],
        ["restart", String(port), "--config", config],
        ["wrap", "--start", "--port", String(port), "true"],
      ]) {
        const r = expectExit(await runCli(args, { env: h.env, timeoutMs: REFUSAL_MS }), 2);
        expect(r.stderr).toContain(`ccp: ${h.state} is writable by group or others (mode 777): they could plant links where ccp writes`);
        expect(r.stderr).toContain(`hint: chmod 700 ${h.state}`);
        expect(r.stderr).not.toMatch(/^\s+at /m);
      }
      expect(readdirSync(h.state)).toEqual([]);
      expect(await isPortBusy("127.0.0.1", port)).toBe(false);
      // The hint works.
      chmodSync(h.state, 0o700);
      expectExit(await runCli(["start", "--port", String(port), "--config", config], { env: h.env }), 0);
      expectExit(await runCli(["stop", String(port)], { env: h.env }), 0);
    } finally {
      killLeftovers(h.state);
    }
  });

  test("startServer itself refuses (every other way of starting a server), before it listens or writes", async () => {
    const h = cliHome(ZAI);
    mkdirSync(h.state);
    chmodSync(h.state, 0o777);
    const config = loadConfig({ file: configFile(h), env: h.env, port: 0 });
    const logs: string[] = [];
    const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };
    let server: RunningServer | undefined;
    try {
      expect(() => {
        server = startServer(config, log);
      }).toThrow(`${h.state} is writable by group or others (mode 777): they could plant links where ccp writes (chmod 700 ${h.state}`);
      expect(readdirSync(h.state)).toEqual([]);
    } finally {
      await server?.stop(0);
    }
  });

  test("links planted at usage.jsonl and the run file: start refuses, naming the link; the files they point at are unchanged", async () => {
    const h = cliHome(ZAI);
    const config = configFile(h);
    const port = await freePort();
    const usage = join(h.state, "logs", "default", "usage.jsonl");
    const runFile = join(h.state, "run", `ccp-${port}.json`);
    const victims = { rc: join(h.home, ".bashrc"), profile: join(h.home, ".profile") };
    writeFileSync(victims.rc, RC);
    writeFileSync(victims.profile, RC);
    mkdirSync(join(h.state, "logs", "default"), { recursive: true, mode: 0o700 });
    mkdirSync(join(h.state, "run"), { mode: 0o700 });
    symlinkSync(victims.rc, usage);
    symlinkSync(victims.profile, runFile);
    try {
      for (const mode of [["--foreground"], []]) {
        const r = expectExit(await runCli(["start", ...mode, "--port", String(port), "--config", config], { env: h.env, timeoutMs: REFUSAL_MS }), 2);
        expect(r.stderr).toContain(`ccp: ${runFile} is a symbolic link: ccp does not write through links in its state directory`);
        expect(r.stderr).toContain(`hint: remove it (rm ${runFile})`);
      }
      // With the run file's link gone, the usage log's is the one named.
      renameSync(runFile, join(h.home, "moved-link"));
      const r = expectExit(await runCli(["start", "--port", String(port), "--config", config], { env: h.env, timeoutMs: REFUSAL_MS }), 2);
      expect(r.stderr).toContain(`ccp: ${usage} is a symbolic link`);
      expect(await isPortBusy("127.0.0.1", port)).toBe(false);
      expect(readFileSync(victims.rc, "utf8")).toBe(RC);
      expect(readFileSync(victims.profile, "utf8")).toBe(RC);
      expect(lstatSync(usage).isSymbolicLink()).toBe(true);
      expect(existsSync(runFile)).toBe(false);
    } finally {
      killLeftovers(h.state);
    }
  });

  test("a usage.jsonl swapped for a link while ccp runs: the next request's line is not written through it, and ccp keeps serving", async () => {
    const h = cliHome();
    const ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: ZAI, home: h.home });
    const victim = join(h.home, ".bashrc");
    writeFileSync(victim, RC);
    try {
      expect((await post(ccp.port)).status).toBe(200);
      await ccp.usage(1);
      symlinkSync(victim, `${ccp.usageFile}.planted`);
      renameSync(`${ccp.usageFile}.planted`, ccp.usageFile);
      expect((await post(ccp.port)).status).toBe(200);
      await until("the failed write's log line", () => ccp.output().includes("usage log write failed"));
      expect(ccp.output()).toContain("ELOOP");
      expect((await post(ccp.port)).status).toBe(200);
      expect(readFileSync(victim, "utf8")).toBe(RC);
    } finally {
      await ccp.stop();
    }
  });
});

describe("modes after a normal run", () => {
  /** A detached ccp with capture and persistence on, one request answered and recorded everywhere. */
  async function run(h: CliHome, port: number, check: (entries: string[]) => void): Promise<void> {
    const config = configFile(h, 'capture = "all"\npersist = true');
    // The loosest umask: every mode below is ccp's own choice, not the umask's.
    const cmd = ["sh", "-c", 'umask 000; exec "$@"', "sh", ...ccpCommand()];
    try {
      expectExit(await runCli(["start", "--port", String(port), "--config", config], { env: h.env, cmd }), 0);
      const rid = (await post(port)).headers.get("x-ccp-rid")!;
      const usage = join(h.state, "logs", "default", "usage.jsonl");
      await until("the usage line", () => readUsageLines<{ rid: string }>(usage).some((l) => l.rid === rid));
      await until("the capture file", () => existsSync(join(h.state, "captures", `${rid}.json`)));
      await until("the database row", () => {
        const db = new Database(join(h.state, "ccp.db"), { readonly: true });
        try {
          return db.query("SELECT 1 FROM requests WHERE rid = ?").get(rid) !== null;
        } finally {
          db.close();
        }
      });
      // While it runs: -wal and -shm exist (SQLite removes them when the last connection closes).
      check(walk(h.state));
      expectExit(await runCli(["stop", String(port)], { env: h.env }), 0);
      check(walk(h.state));
    } finally {
      killLeftovers(h.state);
    }
  }

  test("a new CCP_HOME: every directory 0700, every file 0600 (run file, server log, usage log, ccp.db with -wal/-shm, captures), under umask 000", async () => {
    const h = cliHome(ZAI);
    const port = await freePort();
    let running = true;
    await run(h, port, (entries) => {
      const names = entries.map((e) => e.split(" ")[0]);
      if (running) expect(names).toEqual(expect.arrayContaining(["ccp.db", "ccp.db-wal", "ccp.db-shm", `ccp-${port}.out`, `run/ccp-${port}.json`, "logs/default/usage.jsonl"]));
      expect(names.filter((n) => n?.startsWith("captures/"))).toHaveLength(1);
      running = false;
      const wrong = entries.filter((e) => !/ (dir 700|file 600)$/.test(e));
      expect(wrong).toEqual([]);
    });
  });

  test("files an older ccp left at 0644 are narrowed to 0600: usage log and its rotated copy, server log, ccp.db, a capture", async () => {
    const h = cliHome(ZAI);
    const port = await freePort();
    // As an older ccp left it under umask 022: directories 0755 (accepted: nobody else can write them), files 0644.
    for (const d of ["", "logs", "logs/default", "captures", "run"]) {
      mkdirSync(join(h.state, d), { recursive: true });
      chmodSync(join(h.state, d), 0o755);
    }
    const old = (rel: string, text: string) => {
      writeFileSync(join(h.state, rel), text);
      chmodSync(join(h.state, rel), 0o644);
    };
    old("logs/default/usage.jsonl", "");
    old("logs/default/usage.jsonl.1", "");
    old("captures/ccp_old.json", "{}\n");
    old(`ccp-${port}.out`, "an older server's log\n");
    const db = new Database(join(h.state, "ccp.db"), { create: true });
    db.exec("PRAGMA journal_mode = WAL");
    db.close();
    chmodSync(join(h.state, "ccp.db"), 0o644);
    await run(h, port, (entries) => {
      expect(entries).toEqual(expect.arrayContaining([`ccp-${port}.out file 600`, "logs/default/usage.jsonl.1 file 600", "captures/ccp_old.json file 600", "ccp.db file 600"]));
      const wrong = entries.filter((e) => !/ (dir 755|file 600)$/.test(e));
      expect(wrong).toEqual([]);
    });
  });
});
