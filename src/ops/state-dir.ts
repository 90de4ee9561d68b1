import { lstatSync, statSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import { mkdirPrivate, narrowExisting } from "../usage/private-file.ts";
import { rotatedNames } from "../usage/rotation.ts";
import { usageDbPath } from "../usage/sqlite-store.ts";
import { usageJsonlPath } from "../usage/stats-source.ts";
import { instancePaths } from "./paths.ts";
import { stateDirProblem, type CheckedPath, type PathFacts, type StateDirProblem, type StatePath } from "./state-dir-check.ts";

type StateConfig = Pick<Config, "home" | "port" | "profile" | "persist" | "capture" | "captureDir" | "rotation">;

/**
 * Every directory and file an instance writes under its state directory, a directory before
 * what is in it: what the start check looks at (state-dir-check.ts). Capture files have
 * per-request names; their directory is checked, and each is created new (O_EXCL).
 */
export function statePaths(config: StateConfig): StatePath[] {
  const { home } = config;
  const instance = instancePaths(home, config.port);
  const usage = usageJsonlPath(home, config.profile);
  const db = usageDbPath(home);
  const defaultCaptures = join(home, "captures");
  const dirs: StatePath[] = [
    { path: home, expect: "dir", chosenBy: "CCP_HOME" },
    { path: join(home, "run"), expect: "dir" },
    { path: join(home, "logs"), expect: "dir" },
    { path: join(home, "logs", config.profile), expect: "dir" },
  ];
  if (config.capture !== "off") dirs.push(config.captureDir === defaultCaptures ? { path: defaultCaptures, expect: "dir" } : { path: config.captureDir, expect: "dir", chosenBy: "CCP_CAPTURE_DIR" });
  const files = [instance.state, ...rotatedNames(instance.log, config.rotation.keep), ...rotatedNames(usage, config.rotation.keep), ...(config.persist ? [db, `${db}-wal`, `${db}-shm`] : [])];
  return [...dirs, ...files.map((path): StatePath => ({ path, expect: "file" }))];
}

function facts(st: Stats | undefined): PathFacts {
  if (!st) return { kind: "missing" };
  if (st.isSymbolicLink()) return { kind: "symlink", uid: st.uid };
  return { kind: st.isDirectory() ? "dir" : st.isFile() ? "file" : "other", uid: st.uid, mode: st.mode, nlink: st.nlink };
}

function check(paths: readonly StatePath[], uid: number): StateDirProblem | undefined {
  const checked = paths.map((p): CheckedPath => {
    const own = facts(lstatSync(p.path, { throwIfNoEntry: false }));
    return own.kind === "symlink" && p.chosenBy ? { ...p, facts: own, target: facts(statSync(p.path, { throwIfNoEntry: false })) } : { ...p, facts: own };
  });
  return stateDirProblem(checked, uid);
}

/**
 * Checks the state directory, creates the directories that are missing (0700), and checks
 * again: a directory that did not exist at the first look could have been made by someone
 * else before ours (a CCP_HOME in /tmp), and the second look finds it is not ours. Then the
 * files found wider than 0600 (an older ccp made them 0644) are narrowed; directories keep
 * their mode once it passes (they may be the user's own choice, and with every file 0600
 * they show others only names). Returns what is wrong, or undefined when ccp may write there.
 * Nothing is created or changed when the first look finds a problem.
 */
export function prepareStateDir(config: StateConfig): StateDirProblem | undefined {
  // No owners or modes to check where POSIX permissions do not apply.
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const paths = statePaths(config);
  const first = check(paths, uid);
  if (first) return first;
  for (const p of paths) {
    if (p.expect !== "dir") continue;
    try {
      mkdirPrivate(p.path);
    } catch (e) {
      return {
        message: `cannot create ${p.path} (${errorCode(e)})`,
        hint: `check that you can write to its parent, or point ${p.chosenBy ?? "CCP_HOME"} at a directory of your own`,
      };
    }
  }
  const second = check(paths, uid);
  if (second) return second;
  for (const p of paths) {
    if (p.expect !== "file") continue;
    try {
      narrowExisting(p.path);
    } catch (e) {
      return { message: `cannot make ${p.path} private (${errorCode(e)})`, hint: `chmod 600 ${p.path}` };
    }
  }
  return undefined;
}

const errorCode = (e: unknown): string => (e as { code?: string }).code ?? (e as Error).message;
