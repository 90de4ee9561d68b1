import { describe, expect, test } from "bun:test";
import { HEAP_HINT_BYTES, HEAP_HINT_VAR, heapHintNote, withHeapHint } from "../../src/ops/heap-hint.ts";

describe("heap hint", () => {
  test("a server's environment gets the hint and keeps everything else", () => {
    const env = withHeapHint({ PATH: "/bin", CCP_PROFILE: "glm", UNSET: undefined });
    expect(env).toEqual({ PATH: "/bin", CCP_PROFILE: "glm", [HEAP_HINT_VAR]: String(HEAP_HINT_BYTES) });
  });

  test("an operator's own value wins", () => {
    expect(withHeapHint({ [HEAP_HINT_VAR]: "1073741824" })[HEAP_HINT_VAR]).toBe("1073741824");
  });

  test("the server log says whether it runs with the hint", () => {
    expect(heapHintNote({ [HEAP_HINT_VAR]: String(HEAP_HINT_BYTES) })).toBe("heap_hint=256MB");
    expect(heapHintNote({})).toContain("heap_hint=off");
  });

  test("the Bun ccp runs on accepts it (an unknown BUN_JSC_ variable stops Bun at start-up)", () => {
    const r = Bun.spawnSync([process.execPath, "-e", "console.log(1)"], { env: withHeapHint({ PATH: process.env.PATH }) });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString().trim()).toBe("1");
  });
});
