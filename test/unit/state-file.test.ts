import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
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
