import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import { createRouter, type RouteFacts } from "../../src/routing/router.ts";
import { offeredTools, requestFacts, SUBAGENT_HEADER, thinkingOn } from "../../src/routing/request-facts.ts";
import { writeConfig } from "../support/config-file.ts";
import { prng } from "../support/usage-records.ts";

const LANES = `
[lanes.anthropic]
base_url = "https://api.anthropic.com"
[lanes.zai]
base_url = "https://api.z.ai/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
transport = "h1"
dialect = "zai"
[lanes.long]
base_url = "https://long.example.test"
auth = "key"
key_env = "LONG_KEY"
`;

const ROUTES = `
[[routes]]
match = "claude-*"
name = "subagents"
subagent = true
lane = "zai"
[[routes]]
match = "claude-*"
name = "long-context"
min_input_tokens = 100000
lane = "long"
[[routes]]
match = "claude-opus-*"
thinking = true
tools_include = ["web_search", "Bash"]
lane = "anthropic"
[[routes]]
match = "claude-opus-*"
thinking = false
name = "plain-opus"
lane = "zai"
model = "glm-5"
[[routes]]
match = "*"
lane = "anthropic"
`;

const router = () => createRouter(loadConfig({ file: writeConfig(LANES + ROUTES), env: {} }));

describe("route conditions: all that are given must hold; the first route that matches wins", () => {
  test("examples", () => {
    const route = router();
    const tokens = (n: number) => () => n;
    expect(route({ model: "claude-haiku-4-5", subagent: true })).toMatchObject({ lane: { name: "zai" }, route: { index: 0, name: "subagents" } });
    expect(route({ model: "claude-haiku-4-5", inputTokens: tokens(100_000) })).toMatchObject({ lane: { name: "long" }, route: { index: 1, name: "long-context" } });
    expect(route({ model: "claude-haiku-4-5", inputTokens: tokens(99_999) })).toMatchObject({ lane: { name: "anthropic" }, route: { index: 4, name: null } });
    expect(route({ model: "claude-opus-4-7", thinking: true, tools: ["web_search", "Bash", "Read"] })).toMatchObject({ lane: { name: "anthropic" }, route: { index: 2 } });
    // One of the tools missing: the opus route with thinking does not match, and nor does the one without.
    expect(route({ model: "claude-opus-4-7", thinking: true, tools: ["web_search"] })).toMatchObject({ route: { index: 4 } });
    expect(route({ model: "claude-opus-4-7" })).toMatchObject({ lane: { name: "zai" }, upstreamModel: "glm-5", route: { index: 3, name: "plain-opus" } });
  });

  test("generated requests route as the rules say (seeded)", () => {
    const seed = Number(process.env.ROUTE_SEED ?? Date.now() % 100_000);
    console.log(`route conditions seed: ${seed} (ROUTE_SEED=${seed} repeats it)`);
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const route = router();
    for (let i = 0; i < 500; i++) {
      const facts: RouteFacts = {
        model: pick(["claude-haiku-4-5", "claude-opus-4-7", "claude-sonnet-4-6", "glm-4.6"]),
        subagent: pick([true, false, undefined]),
        thinking: pick([true, false, undefined]),
        tools: pick([undefined, [], ["web_search"], ["Bash", "web_search"], ["Bash"]]),
        inputTokens: pick([undefined, () => 10, () => 100_000, () => 250_000]),
      };
      const claude = facts.model.startsWith("claude-");
      const opus = facts.model.startsWith("claude-opus-");
      const expected =
        claude && facts.subagent === true
          ? 0
          : claude && (facts.inputTokens?.() ?? 0) >= 100_000
            ? 1
            : opus && facts.thinking === true && facts.tools?.includes("web_search") && facts.tools.includes("Bash")
              ? 2
              : opus && facts.thinking !== true
                ? 3
                : 4;
      const got = route(facts);
      if (got.kind !== "routed" || got.route?.index !== expected)
        throw new Error(`seed ${seed}, case ${i}: ${JSON.stringify(facts)} → ${JSON.stringify(got.kind === "routed" ? got.route : got)}, expected route ${expected}`);
    }
  });

  test("the token estimate is asked only when a route's other conditions hold, and once at most per route", () => {
    let asked = 0;
    const route = router();
    const inputTokens = () => {
      asked++;
      return 5;
    };
    route({ model: "claude-haiku-4-5", subagent: true, inputTokens });
    expect(asked).toBe(0);
    route({ model: "glm-4.6", inputTokens });
    expect(asked).toBe(0);
    route({ model: "claude-haiku-4-5", inputTokens });
    expect(asked).toBe(1);
  });

  test("a request no route takes, because of conditions, says so", () => {
    const file = writeConfig(`${LANES}
[[routes]]
match = "*"
thinking = true
lane = "anthropic"
`);
    const got = createRouter(loadConfig({ file, env: {} }))({ model: "claude-haiku-4-5" });
    expect(got).toMatchObject({ kind: "none" });
    expect(got.kind === "none" && got.message).toContain("not their conditions");
  });

  test("config: conditions are checked; route names are unique", () => {
    const bad = (routes: string) => () => loadConfig({ file: writeConfig(LANES + routes), env: {} });
    expect(bad(`[[routes]]\nmatch = "*"\nlane = "zai"\nmin_input_tokens = 0\n`)).toThrow(/min_input_tokens/);
    expect(bad(`[[routes]]\nmatch = "*"\nlane = "zai"\ntools_include = []\n`)).toThrow(/tools_include/);
    expect(bad(`[[routes]]\nmatch = "*"\nlane = "zai"\nsubagent = "yes"\n`)).toThrow(/subagent/);
    expect(bad(`[[routes]]\nmatch = "a"\nname = "x"\nlane = "zai"\n[[routes]]\nmatch = "*"\nname = "x"\nlane = "zai"\n`)).toThrow(/already names route 0/);
    expect(bad(`[[routes]]\nmatch = "*"\nname = "two words"\nlane = "zai"\n`)).toThrow(/route names/);
  });
});

describe("what a request says of itself", () => {
  test("subagent: Claude Code's x-claude-code-agent-id header, present and not empty", () => {
    const body = { model: "m", thinking: false, tools: [], inputTokens: () => 1 };
    expect(requestFacts(body, new Headers({ [SUBAGENT_HEADER]: "a1b2" })).subagent).toBe(true);
    expect(requestFacts(body, new Headers({ [SUBAGENT_HEADER]: "" })).subagent).toBe(false);
    expect(requestFacts(body, new Headers({ "x-claude-code-parent-agent-id": "p" })).subagent).toBe(false);
  });

  test("thinking: enabled or adaptive, as Claude Code sends it; disabled or absent is off", () => {
    expect(thinkingOn({ thinking: { type: "enabled", budget_tokens: 31999 } })).toBe(true);
    expect(thinkingOn({ thinking: { type: "adaptive", display: "omitted" } })).toBe(true);
    expect(thinkingOn({ thinking: { type: "disabled" } })).toBe(false);
    expect(thinkingOn({})).toBe(false);
    expect(thinkingOn({ thinking: "enabled" })).toBe(false);
  });

  test("tools: names, and server tools' types with and without their date", () => {
    const tools = offeredTools({
      tools: [{ name: "Bash", input_schema: {} }, { type: "web_search_20250305", name: "web_search" }, { type: "code_execution_20250825", name: "code_execution" }, { bogus: 1 }],
    });
    expect(tools.sort()).toEqual(["Bash", "code_execution", "code_execution_20250825", "web_search", "web_search_20250305"]);
    expect(offeredTools({})).toEqual([]);
  });
});
