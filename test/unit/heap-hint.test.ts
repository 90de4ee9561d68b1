import { describe, expect, test } from "bun:test";
import { HEAP_HINT, heapHintNote, withHeapHint } from "../../src/ops/heap-hint.ts";

describe("heap hint", () => {
  test("a server's environment gets the hint and keeps everything else", () => {
    const env = withHeapHint({ PATH: "/bin", CCP_PROFILE: "glm", UNSET: undefined });
    expect(env).toEqual({ PATH: "/bin", CCP_PROFILE: "glm", BUN_JSC_forceRAMSize: "268435456", BUN_JSC_smallHeapGrowthFactor: "1.5" });
  });

  test("an operator's own value of each setting wins", () => {
    const env = withHeapHint({ BUN_JSC_forceRAMSize: "1073741824" });
    expect(env.BUN_JSC_forceRAMSize).toBe("1073741824");
    expect(env.BUN_JSC_smallHeapGrowthFactor).toBe("1.5");
    expect(withHeapHint({ BUN_JSC_smallHeapGrowthFactor: "2" }).BUN_JSC_smallHeapGrowthFactor).toBe("2");
  });

  test("the server log says whether it runs with the hint", () => {
    expect(heapHintNote(HEAP_HINT)).toBe("heap_hint=256MB growth=1.5");
    expect(heapHintNote({ BUN_JSC_forceRAMSize: "268435456" })).toBe("heap_hint=256MB");
    expect(heapHintNote({})).toContain("heap_hint=off");
  });

  test("the Bun ccp runs on accepts every setting (an unknown BUN_JSC_ variable stops it at start-up)", () => {
    const r = Bun.spawnSync([process.execPath, "-e", "console.log(1)"], { env: withHeapHint({ PATH: process.env.PATH }) });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString().trim()).toBe("1");
  });
});
