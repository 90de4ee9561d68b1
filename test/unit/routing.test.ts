import { expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import { globToRegExp } from "../../src/routing/glob.ts";
import { createRouter } from "../../src/routing/router.ts";
import { writeConfig } from "../support/config-file.ts";

test.each([
  ["claude-haiku-*", "claude-haiku-4-5-20251001", true],
  ["claude-haiku-*", "claude-sonnet-4-5", false],
  ["*", "anything at all", true],
  ["claude-?-x", "claude-3-x", true],
  ["glm-4.5", "glm-4x5", false], // dots are literal
  ["a+b(c)", "a+b(c)", true],
])("glob %p against %p is %p", (glob, model, expected) => {
  expect(globToRegExp(glob).test(model)).toBe(expected);
});

test("ordered rules: first match wins; route model beats the lane's map, which beats the client's name", () => {
  const file = writeConfig(`
[lanes.anthropic]
base_url = "https://api.anthropic.com"
[lanes.zai]
base_url = "https://api.z.ai/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
transport = "h1"
dialect = "zai"
models = { "claude-haiku-*" = "glm-4.5-air", "claude-opus-*" = "glm-5" }
[[routes]]
match = "claude-haiku-*"
lane = "zai"
[[routes]]
match = "claude-opus-4-1*"
lane = "zai"
model = "glm-4.6"
[[routes]]
match = "claude-opus-*"
lane = "zai"
[[routes]]
match = "*"
lane = "anthropic"
`);
  const router = createRouter(loadConfig({ file, env: {} }));
  const route = (model: string) => router({ model });
  expect(route("claude-haiku-4-5")).toMatchObject({ lane: { name: "zai" }, upstreamModel: "glm-4.5-air", route: { index: 0, name: null } });
  expect(route("claude-opus-4-1-2025")).toMatchObject({ lane: { name: "zai" }, upstreamModel: "glm-4.6", route: { index: 1 } });
  expect(route("claude-opus-4-7")).toMatchObject({ lane: { name: "zai" }, upstreamModel: "glm-5", route: { index: 2 } });
  expect(route("claude-sonnet-4-5")).toMatchObject({ lane: { name: "anthropic" }, upstreamModel: "claude-sonnet-4-5", route: { index: 3 } });
});

test("no matching route says so", () => {
  const file = writeConfig(`
[lanes.a]
base_url = "https://example.test"
[[routes]]
match = "claude-*"
lane = "a"
`);
  expect(createRouter(loadConfig({ file, env: {} }))({ model: "gpt-4" })).toEqual({ kind: "none", message: 'no route matches model "gpt-4"; add a [[routes]] entry with match = "*"' });
});
