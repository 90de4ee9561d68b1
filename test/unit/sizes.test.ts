import { expect, test } from "bun:test";
import { longLines, MAX_FILE_LINES, MAX_FUNCTION_LINES, MAX_LINE_CHARS, oversize } from "../../scripts/sizes.ts";

/** Issue 20's bounds, kept: a newcomer reads any file and any function in one sitting. */
test(`no file under src/ over ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES} (declarative tables aside)`, () => {
  expect(oversize()).toEqual({ files: [], functions: [] });
});

test(`no line in src/, test/ or scripts/ over ${MAX_LINE_CHARS} characters (the formatter's width)`, () => {
  expect(longLines()).toEqual([]);
});
