import { describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readState, removeState, writeState } from "../../src/ops/state-file.ts";

describe("state files", () => {
  const state = (pid: number) => ({ pid, port: 18_999, host: "127.0.0.1", profile: "default", config: null, started_at: "", options: {} });

  test("removing with a pid leaves a file that names another process (a newer instance's)", () => {
    const home = mkdtempSync(join(tmpdir(), "ccp-state-"));
    writeState(home, state(222));
    removeState(home, 18_999, 111);
    expect(readState(home, 18_999)?.pid).toBe(222);
    removeState(home, 18_999, 222);
    expect(readState(home, 18_999)).toBeUndefined();
    writeState(home, state(333));
    removeState(home, 18_999);
    expect(readState(home, 18_999)).toBeUndefined();
  });
});

describe("the run file", () => {
  const state = { pid: 4242, port: 18_998, host: "127.0.0.1", profile: "default", config: null, started_at: "", options: {} };

  test("is written to a new file and renamed into place: a link planted at its name is replaced, never written through; 0600", () => {
    const home = mkdtempSync(join(tmpdir(), "ccp-state-"));
    const victim = join(home, "victim");
    writeFileSync(victim, "# a shell rc file\n");
    mkdirSync(join(home, "run"), { mode: 0o700 });
    const file = join(home, "run", `ccp-${state.port}.json`);
    symlinkSync(victim, file);
    writeState(home, state);
    expect(readFileSync(victim, "utf8")).toBe("# a shell rc file\n");
    expect(lstatSync(file).isSymbolicLink()).toBe(false);
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
    expect(readState(home, state.port)?.pid).toBe(4242);
    // No temporary file is left behind.
    expect(readdirSync(join(home, "run"))).toEqual([`ccp-${state.port}.json`]);
  });

  test("its directory is created 0700; an older run file at 0644 is replaced by a 0600 one", () => {
    const home = mkdtempSync(join(tmpdir(), "ccp-state-"));
    const umask = process.umask(0o022);
    try {
      writeState(home, state);
      expect(lstatSync(join(home, "run")).mode & 0o777).toBe(0o700);
      const file = join(home, "run", `ccp-${state.port}.json`);
      chmodSync(file, 0o644);
      writeState(home, { ...state, pid: 4343 });
      expect(lstatSync(file).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(umask);
    }
  });
});
