import { dirname } from "node:path";

/**
 * Whether ccp may write in its state directory ($CCP_HOME, the captures directory). Anyone
 * who can write in a directory ccp writes in can plant a symbolic link where ccp will append
 * (usage.jsonl, the server log) or truncate (the run file), and turn that write against another
 * file of the user's: a model name like "$(cmd)" appended to a shell rc file runs when it is
 * sourced. So ccp refuses to start unless every directory it uses is the user's own and
 * writable by nobody else, and nothing it is about to write is a link (SECURITY.md).
 *
 * Pure: the facts come from lstat, read at the edge (ops/state-dir.ts).
 */

/** What lstat (or stat, for where a link points) says about one path. */
export type PathFacts =
  | { readonly kind: "missing" }
  | { readonly kind: "symlink"; readonly uid: number }
  | { readonly kind: "dir" | "file" | "other"; readonly uid: number; readonly mode: number; readonly nlink: number };

/** One path ccp uses, with what it expects there. */
export interface StatePath {
  readonly path: string;
  readonly expect: "dir" | "file";
  /**
   * Set on a directory the user chose (the state directory itself, $CCP_CAPTURE_DIR), to the
   * variable that moves it. It may be a link of the user's own (~/.local/state/ccp pointing
   * at another disk), judged by what it points at; a link inside it is never followed.
   */
  readonly chosenBy?: "CCP_HOME" | "CCP_CAPTURE_DIR";
}

export interface CheckedPath extends StatePath {
  /** lstat: the path itself. */
  readonly facts: PathFacts;
  /** stat, for a chosen path that is a link: what it points at. */
  readonly target?: PathFacts;
}

export interface StateDirProblem {
  readonly message: string;
  readonly hint: string;
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(3, "0");

/**
 * Why ccp must not write in these paths, or undefined when it may. The paths come in the
 * order ccp uses them (a directory before what is in it): the first problem is the one to
 * fix first. `uid` is the user ccp runs as (process.getuid()).
 */
export function stateDirProblem(paths: readonly CheckedPath[], uid: number): StateDirProblem | undefined {
  for (const p of paths) {
    const problem = pathProblem(p, uid);
    if (problem) return problem;
  }
  return undefined;
}

function pathProblem(p: CheckedPath, uid: number): StateDirProblem | undefined {
  switch (p.facts.kind) {
    case "missing":
      return undefined; // ccp creates it: directories 0700, files 0600
    case "symlink":
      return linkProblem(p, p.facts.uid, uid);
    default:
      return p.expect === "dir" ? dirProblem(p.path, p.facts, uid, envFor(p)) : fileProblem(p.path, p.facts, uid);
  }
}

type Present = Extract<PathFacts, { readonly mode: number }>;

/** A link is refused, except a directory the user chose that is a link of their own (judged by what it points at). */
function linkProblem(p: CheckedPath, linkUid: number, uid: number): StateDirProblem | undefined {
  const { path } = p;
  if (p.chosenBy === undefined || p.expect !== "dir") {
    return {
      message: `${path} is a symbolic link: ccp does not write through links in its state directory (one planted there would turn ccp's writes against the file it points at)`,
      hint: `remove it (rm ${path}) and start again: ccp creates it; if you did not make that link, someone else can write to ${dirname(path)}`,
    };
  }
  if (linkUid !== uid) {
    return {
      message: `${path} is a symbolic link owned by another user (uid ${linkUid}, you are uid ${uid})`,
      hint: `remove it (rm ${path}) and start again (ccp creates the directory, mode 700), or point ${p.chosenBy} at a directory of your own`,
    };
  }
  const target = p.target;
  if (target === undefined || target.kind === "missing") {
    return {
      message: `${path} is a symbolic link to nothing`,
      hint: `create the directory it points at (mkdir -m 700 "$(readlink ${path})"), or remove the link (rm ${path}): ccp then creates the directory`,
    };
  }
  // stat follows every link: what it reports is never one.
  return target.kind === "symlink" ? undefined : dirProblem(path, target, uid, p.chosenBy);
}

function dirProblem(path: string, facts: Present, uid: number, env: string): StateDirProblem | undefined {
  if (facts.kind !== "dir") return { message: `${path} is not a directory`, hint: `move it aside (mv ${path} ${path}.old); ccp creates the directory, mode 700` };
  if (facts.uid !== uid) {
    return {
      message: `${path} belongs to another user (uid ${facts.uid}, you are uid ${uid}): they could plant links where ccp writes`,
      hint: `make it yours (sudo chown ${uid} ${path}; chmod 700 ${path}) or point ${env} at a directory of your own`,
    };
  }
  if (facts.mode & 0o022) {
    return {
      message: `${path} is writable by group or others (mode ${octal(facts.mode)}): they could plant links where ccp writes`,
      hint: `chmod 700 ${path}, then look for links you did not make: find ${path} -type l`,
    };
  }
  return undefined;
}

function fileProblem(path: string, facts: Present, uid: number): StateDirProblem | undefined {
  if (facts.kind !== "file") return { message: `${path} is not a regular file`, hint: `move it aside (mv ${path} ${path}.old); ccp creates the file, mode 600` };
  if (facts.uid !== uid) {
    return {
      message: `${path} belongs to another user (uid ${facts.uid}, you are uid ${uid})`,
      hint: `move it aside (mv ${path} ${path}.old) or make it yours (sudo chown ${uid} ${path}); ccp creates the file, mode 600`,
    };
  }
  if (facts.nlink > 1) {
    return {
      message: `${path} has ${facts.nlink - 1} other hard link(s): what ccp writes there would change those files too`,
      hint: `move it aside (mv ${path} ${path}.old); ccp creates a new one, mode 600`,
    };
  }
  // A file wider than 0600 is not refused: ccp narrows it to 0600 when it opens it (private-file.ts).
  return undefined;
}

/** The variable that moves the directory a path is in. */
const envFor = (p: StatePath): string => p.chosenBy ?? "CCP_HOME";
