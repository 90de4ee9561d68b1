import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { stateDirProblem, type CheckedPath, type PathFacts } from "../../src/ops/state-dir-check.ts";
import { prepareStateDir, statePaths } from "../../src/ops/state-dir.ts";
import { scratchDir } from "../support/ccp.ts";

const ME = 1000;
const OTHER = 1001;
const dir = (mode: number, uid = ME): PathFacts => ({ kind: "dir", uid, mode: 0o040000 | mode, nlink: 2 });
const file = (mode = 0o600, uid = ME, nlink = 1): PathFacts => ({ kind: "file", uid, mode: 0o100000 | mode, nlink });
const link = (uid = ME): PathFacts => ({ kind: "symlink", uid });
const missing: PathFacts = { kind: "missing" };

/** A state directory as the start check sees it: the root, one subdirectory, one file. */
function tree(o: { home?: PathFacts; homeTarget?: PathFacts; logs?: PathFacts; usage?: PathFacts } = {}): CheckedPath[] {
  return [
    { path: "/s", expect: "dir", chosenBy: "CCP_HOME", facts: o.home ?? dir(0o700), target: o.homeTarget },
    { path: "/s/logs", expect: "dir", facts: o.logs ?? dir(0o700) },
    { path: "/s/logs/usage.jsonl", expect: "file", facts: o.usage ?? file() },
  ];
}
const check = (o: Parameters<typeof tree>[0]) => stateDirProblem(tree(o), ME);

describe("the state directory check (pure)", () => {
  test("the user's own directories, writable by nobody else, pass; so does anything still missing", () => {
    expect(check({})).toBeUndefined();
    expect(check({ home: dir(0o755), logs: dir(0o750) })).toBeUndefined();
    expect(check({ home: missing, logs: missing, usage: missing })).toBeUndefined();
  });

  test("a directory writable by group or others is refused, with chmod 700 as the way out", () => {
    for (const mode of [0o777, 0o775, 0o757, 0o1777, 0o720, 0o702]) {
      const p = check({ home: dir(mode) });
      expect(p?.message).toBe(`/s is writable by group or others (mode ${(mode & 0o777).toString(8)}): they could plant links where ccp writes`);
      expect(p?.hint).toStartWith("chmod 700 /s");
    }
    expect(check({ logs: dir(0o777) })?.message).toStartWith("/s/logs is writable by group or others");
  });

  test("a directory that belongs to another user is refused, even at mode 700", () => {
    const p = check({ logs: dir(0o700, OTHER) });
    expect(p?.message).toBe(`/s/logs belongs to another user (uid ${OTHER}, you are uid ${ME}): they could plant links where ccp writes`);
    expect(p?.hint).toContain(`sudo chown ${ME} /s/logs`);
    expect(check({ home: dir(0o700, 0) })?.message).toStartWith("/s belongs to another user (uid 0");
  });

  test("a link inside the state directory is refused, directory or file, even the user's own", () => {
    const p = check({ usage: link() });
    expect(p?.message).toStartWith("/s/logs/usage.jsonl is a symbolic link: ccp does not write through links");
    expect(p?.hint).toStartWith("remove it (rm /s/logs/usage.jsonl)");
    expect(p?.hint).toContain("someone else can write to /s/logs");
    expect(check({ logs: link() })?.message).toStartWith("/s/logs is a symbolic link");
  });

  test("the state directory itself may be a link of the user's own, judged by what it points at", () => {
    expect(check({ home: link(), homeTarget: dir(0o700) })).toBeUndefined();
    expect(check({ home: link(), homeTarget: dir(0o777) })?.message).toStartWith("/s is writable by group or others (mode 777)");
    expect(check({ home: link(), homeTarget: dir(0o700, OTHER) })?.message).toStartWith("/s belongs to another user");
    expect(check({ home: link(OTHER), homeTarget: dir(0o700) })?.message).toBe(`/s is a symbolic link owned by another user (uid ${OTHER}, you are uid ${ME})`);
    expect(check({ home: link(), homeTarget: missing })?.message).toBe("/s is a symbolic link to nothing");
    expect(check({ home: link(), homeTarget: file() })?.message).toBe("/s is not a directory");
  });

  test("a file: not regular, another user's, or hard-linked elsewhere is refused; one wider than 0600 is not (it is narrowed)", () => {
    expect(check({ usage: { kind: "other", uid: ME, mode: 0o010600, nlink: 1 } })?.message).toBe("/s/logs/usage.jsonl is not a regular file");
    expect(check({ usage: dir(0o700) })?.message).toBe("/s/logs/usage.jsonl is not a regular file");
    expect(check({ usage: file(0o600, OTHER) })?.message).toStartWith(`/s/logs/usage.jsonl belongs to another user (uid ${OTHER}`);
    expect(check({ usage: file(0o600, ME, 2) })?.message).toStartWith("/s/logs/usage.jsonl has 1 other hard link(s)");
    expect(check({ usage: file(0o666) })).toBeUndefined();
    expect(check({ logs: file() })?.message).toBe("/s/logs is not a directory");
  });

  test("the first problem in ccp's order is the one reported: a directory before what is in it", () => {
    expect(check({ home: dir(0o777), logs: dir(0o777), usage: link() })?.message).toStartWith("/s is writable");
    expect(check({ logs: dir(0o777), usage: link() })?.message).toStartWith("/s/logs is writable");
  });

  test("a captures directory chosen with CCP_CAPTURE_DIR names that variable in its hint", () => {
    const p = stateDirProblem([{ path: "/caps", expect: "dir", chosenBy: "CCP_CAPTURE_DIR", facts: dir(0o700, OTHER) }], ME);
    expect(p?.hint).toContain("point CCP_CAPTURE_DIR at a directory of your own");
  });
});

describe("what the check looks at, and preparing a state directory", () => {
  const config = (home: string, o: { persist?: boolean; capture?: "off" | "all"; captureDir?: string } = {}) => ({
    home,
    port: 8082,
    profile: "work",
    persist: o.persist ?? true,
    capture: o.capture ?? "off",
    captureDir: o.captureDir ?? join(home, "captures"),
    rotation: { max_mb: 1, keep: 2 },
  });

  test("every directory and file an instance writes, directories first", () => {
    const paths = statePaths(config("/s", { capture: "all", captureDir: "/caps" })).map((p) => `${p.expect} ${p.path}${p.chosenBy ? ` (${p.chosenBy})` : ""}`);
    expect(paths).toEqual([
      "dir /s (CCP_HOME)",
      "dir /s/run",
      "dir /s/logs",
      "dir /s/logs/work",
      "dir /caps (CCP_CAPTURE_DIR)",
      "file /s/run/ccp-8082.json",
      "file /s/ccp-8082.out",
      "file /s/ccp-8082.out.1",
      "file /s/ccp-8082.out.2",
      "file /s/logs/work/usage.jsonl",
      "file /s/logs/work/usage.jsonl.1",
      "file /s/logs/work/usage.jsonl.2",
      "file /s/ccp.db",
      "file /s/ccp.db-wal",
      "file /s/ccp.db-shm",
    ]);
    const off = statePaths(config("/s", { persist: false })).map((p) => p.path);
    expect(off).not.toContain("/s/ccp.db");
    expect(off).not.toContain("/s/captures");
  });

  test("a missing state directory is created 0700, its subdirectories too, whatever the umask", () => {
    const home = join(scratchDir(), "new", "state");
    const umask = process.umask(0o002);
    try {
      expect(prepareStateDir(config(home, { capture: "all" }))).toBeUndefined();
    } finally {
      process.umask(umask);
    }
    for (const d of [join(home, ".."), home, join(home, "run"), join(home, "logs"), join(home, "logs", "work"), join(home, "captures")]) {
      expect([d, (lstatSync(d).mode & 0o777).toString(8)]).toEqual([d, "700"]);
    }
  });

  test("a world-writable state directory is refused before anything is created in it", () => {
    const home = join(scratchDir(), "state");
    mkdirSync(home);
    chmodSync(home, 0o777);
    expect(prepareStateDir(config(home))?.message).toStartWith(`${home} is writable by group or others (mode 777)`);
    expect(readdirSync(home)).toEqual([]);
  });

  test("a planted link is found on the real filesystem (lstat, not stat)", () => {
    const home = join(scratchDir(), "state");
    mkdirSync(join(home, "run"), { recursive: true, mode: 0o700 });
    symlinkSync(join(home, "..", "victim"), join(home, "run", "ccp-8082.json"));
    expect(prepareStateDir(config(home))?.message).toStartWith(`${join(home, "run", "ccp-8082.json")} is a symbolic link`);
    expect(existsSync(join(home, "logs"))).toBe(false);
  });
});
