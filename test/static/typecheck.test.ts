import { expect, test } from "bun:test";
import { join } from "node:path";

test("the project type-checks in strict mode (tsc --noEmit)", async () => {
  const root = join(import.meta.dir, "..", "..");
  const proc = Bun.spawn([join(root, "node_modules", ".bin", "tsc"), "--noEmit", "-p", root], { stdout: "pipe", stderr: "pipe" });
  const out = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
  expect(out).toBe("");
  expect(await proc.exited).toBe(0);
});
