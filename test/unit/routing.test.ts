import { describe, expect, test } from "bun:test";
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

describe("a lane picked by name: <lane>/<upstream model>", () => {
  const config = (extra = "") =>
    loadConfig({
      file: writeConfig(`
[lanes.anthropic]
base_url = "https://api.anthropic.com"
[lanes.zai]
base_url = "https://api.z.ai/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
models = { "*" = "glm-4.5-air" }
[lanes.shut]
base_url = "https://shut.example.test"
auth = "key"
key_env = "SHUT_KEY"
pick_by_name = false
[lanes.open]
base_url = "https://open.example.test"
pick_by_name = true
${extra}
[[routes]]
match = "meta/*"
lane = "open"
[[routes]]
match = "*"
lane = "anthropic"
`),
      env: {},
    });

  test("a key lane: that lane and the model after the slash, routes and the lane's map bypassed", () => {
    expect(createRouter(config())({ model: "zai/glm-4.6" })).toMatchObject({ kind: "routed", lane: { name: "zai" }, upstreamModel: "glm-4.6", route: null, chain: { lanes: ["zai"] } });
    expect(createRouter(config())({ model: "zai/vendor/model:tag" })).toMatchObject({ lane: { name: "zai" }, upstreamModel: "vendor/model:tag" });
  });

  test("a passthrough lane refuses unless pick_by_name = true; a key lane with pick_by_name = false refuses; the message names the lanes that can", () => {
    const route = createRouter(config());
    const refused = route({ model: "anthropic/claude-sonnet-4-6" });
    expect(refused).toEqual({
      kind: "none",
      message: [
        'lane "anthropic" cannot be picked by name: it passes the client\'s own credentials on (pick_by_name is off for passthrough lanes unless set);',
        "lanes that can be picked by name: zai, open (e.g. zai/<upstream model>)",
      ].join(" "),
    });
    expect(route({ model: "shut/x" })).toMatchObject({ kind: "none", message: expect.stringContaining('lane "shut" cannot be picked by name: pick_by_name = false') });
    expect(route({ model: "open/x" })).toMatchObject({ kind: "routed", lane: { name: "open" }, upstreamModel: "x" });
  });

  test("an unknown lane is refused, unless a route whose glob has a slash takes the model; no upstream model is refused", () => {
    const route = createRouter(config());
    expect(route({ model: "zia/glm-4.6" })).toMatchObject({ kind: "none", message: expect.stringContaining('model "zia/glm-4.6" names no lane "zia"; lanes that can be picked by name: zai, open') });
    expect(route({ model: "meta/llama-4" })).toMatchObject({ kind: "routed", lane: { name: "open" }, upstreamModel: "meta/llama-4", route: { index: 0 } });
    expect(route({ model: "zai/" })).toMatchObject({ kind: "none", message: expect.stringContaining("no upstream model") });
  });
});
