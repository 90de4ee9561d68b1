import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { laneConfig, startCcp, type CcpProcess } from "../support/ccp.ts";
import { HAIKU, SONNET } from "../support/claude.ts";
import { cliHome, runCli } from "../support/cli.ts";
import { type FakeUpstream, startFakeUpstream } from "../support/fake-upstream/index.ts";

/** `ccp replay`: a captured request sent again through the running ccp, as it first went or elsewhere, with no credential stored or shown. */
const ZAI_KEY = "zai-lane-key-for-replay-tests-0123456789";
const CLIENT_KEY = "sk-ant-api03-replay-client-key-0123456789";
const MY_KEY = "sk-ant-api03-replay-callers-own-key-9876543210";
let upstream: FakeUpstream;
let ccp: CcpProcess;
let env: Record<string, string>;
let client: Anthropic;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  ccp = await startCcp({ config: `capture = "all"\n${laneConfig(upstream.url, upstream.caFile)}`, env: { ZAI_API_KEY: ZAI_KEY } });
  env = { ...cliHome().env, HOME: ccp.home, CCP_HOME: join(ccp.home, "state"), CCP_CONFIG: join(ccp.home, "ccp.toml"), ZAI_API_KEY: ZAI_KEY, MY_KEY };
  client = new Anthropic({ baseURL: ccp.url, apiKey: CLIENT_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await ccp?.stop();
  await upstream?.close();
});

const replay = (...args: string[]) => runCli(["replay", "--port", String(ccp.port), ...args], { env });
/** A request through ccp (the SDK, streamed); its rid. */
async function ask(model: string, text: string): Promise<string> {
  await upstream.script([{ kind: "normal", text }], { endpoint: "messages" });
  const { response } = await client.messages.stream({ model, max_tokens: 64, messages: [{ role: "user", content: "say it" }] }).withResponse();
  const rid = response.headers.get("x-ccp-rid")!;
  await ccp.usage((await ccp.usage()).length + 1);
  return rid;
}
const lineOf = async (rid: string) => (await ccp.usage()).find((l) => l.rid === rid);
const everything = (...texts: string[]) => texts.join("\n");

describe("ccp replay", () => {
  let zaiRid: string;
  let anthropicRid: string;
  beforeAll(async () => {
    await upstream.reset();
    zaiRid = await ask(HAIKU, "the zai answer");
    anthropicRid = await ask(SONNET, "the anthropic answer");
  });

  test("through the same lane: the same answer, side by side with then; the lane's own key, said but not shown; replay_of on the new line", async () => {
    await upstream.reset();
    await upstream.script(
      [
        { kind: "normal", text: "the zai answer" },
        { kind: "normal", text: "the zai answer" },
      ],
      { endpoint: "messages" },
    );
    const r = await replay(zaiRid);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`replay of ${zaiRid} through lane zai, transport the lane's`);
    expect(r.stdout).toContain("credentials: lane zai's own key ($ZAI_API_KEY), which ccp puts in");
    expect(r.stdout).toMatch(/status\s+200\s+200/);
    expect(r.stdout).toMatch(/protocol\s+h1\s+h1/);
    expect(r.stdout).toContain("answer: the same text");
    const json = await replay(zaiRid, "--json");
    const result = JSON.parse(json.stdout) as { now: { rid: string; lane: string; answer: string }; then: { answer: string }; same_answer: boolean };
    expect(result).toMatchObject({ same_answer: true, then: { answer: "the zai answer" }, now: { lane: "zai", answer: "the zai answer" } });
    expect(await lineOf(result.now.rid)).toMatchObject({ replay_of: zaiRid, lane: "zai", route: null, status: 200 });
    const sent = (await upstream.requests()).filter((q) => q.path.includes("/v1/messages"));
    expect(sent.map((q) => [q.path.startsWith("/zai/") ? "zai" : "other", q.headers["x-api-key"]])).toEqual([
      ["zai", ZAI_KEY],
      ["zai", ZAI_KEY],
    ]);
    for (const q of sent) expect(Object.keys(q.headers).filter((h) => h.startsWith("x-ccp-"))).toEqual([]);
    expect(everything(r.stdout, r.stderr, json.stdout)).not.toContain(ZAI_KEY);
  });

  test("a passthrough lane needs the caller's credentials (captures hold none): refused without --api-key-env, sent with it, never shown", async () => {
    await upstream.reset();
    await upstream.script([{ kind: "normal", text: "the anthropic answer" }], { endpoint: "messages" });
    const refused = await replay(anthropicRid);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('lane "anthropic" passes the client\'s own credentials on, and captures hold none');
    expect(refused.stderr).toContain("--api-key-env VAR");
    const r = await replay(anthropicRid, "--api-key-env", "MY_KEY");
    expect(r.code).toBe(0);
    // The SDK sent its key as authorization: Bearer, and the replay sends the caller's the same way.
    const mode = (await lineOf(anthropicRid))!.header_mode;
    expect(r.stdout).toContain(`credentials: yours, from $MY_KEY, as ${mode}`);
    expect(r.stdout).toContain("answer: the same text");
    const [sent] = (await upstream.requests()).filter((q) => q.path.includes("/v1/messages"));
    expect([sent!.path.startsWith("/anthropic/"), sent!.headers[mode as string], sent!.protocol]).toEqual([true, mode === "authorization" ? `Bearer ${MY_KEY}` : MY_KEY, "h2"]);
    expect(everything(r.stdout, r.stderr)).not.toContain(MY_KEY);
  });

  test("through another lane and another transport when asked", async () => {
    await upstream.reset();
    const r = await replay(anthropicRid, "--lane", "zai", "--transport", "h2", "--json");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { then: { lane: string; protocol: string }; now: { rid: string; lane: string; protocol: string; attempts: string[] }; credentials: string };
    expect(result.then).toMatchObject({ lane: "anthropic", protocol: "h2" });
    expect(result.now).toMatchObject({ lane: "zai", protocol: "h2", attempts: ["zai h2 ok"] });
    // The fake upstream answers "ok" now: the replay says the text differs.
    expect(result).toMatchObject({ same_answer: false });
    const [sent] = (await upstream.requests()).filter((q) => q.path.includes("/v1/messages"));
    expect([sent!.path.startsWith("/zai/"), sent!.protocol, sent!.headers["x-api-key"]]).toEqual([true, "h2", ZAI_KEY]);
    expect(await lineOf(result.now.rid)).toMatchObject({ replay_of: anthropicRid, lane: "zai", h2: true });
    // The lane's usual traffic is untouched: it still speaks HTTP/1.1.
    await ask(HAIKU, "after");
    expect((await upstream.requests()).filter((q) => q.path.includes("/v1/messages")).at(-1)!.protocol).toBe("http/1.1");
  });

  test("no credential in the capture files, the replay key file is 0600 and only ccp replay holds it", async () => {
    const capture = (await lineOf(anthropicRid))!.capture as string;
    const text = readFileSync(capture, "utf8");
    for (const secret of [CLIENT_KEY, ZAI_KEY, MY_KEY]) expect(text).not.toContain(secret);
    for (const line of await ccp.usage()) if (line.capture) for (const s of [CLIENT_KEY, ZAI_KEY, MY_KEY]) expect(readFileSync(line.capture as string, "utf8")).not.toContain(s);
    const keyFile = join(ccp.home, "state", "run", `ccp-${ccp.port}.replay-key`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, "utf8").split("\n")[0]!;
    for (const line of await ccp.usage()) if (line.capture) expect(readFileSync(line.capture as string, "utf8")).not.toContain(key);
  });

  test("a client cannot force a lane or transport, nor mark a replay, without the replay key: 403, nothing sent upstream", async () => {
    await upstream.reset();
    const body = JSON.stringify({ model: SONNET, max_tokens: 8, messages: [{ role: "user", content: "hi" }] });
    const base = { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": CLIENT_KEY };
    const forgeries: Record<string, string>[] = [
      { "x-ccp-lane": "zai" },
      { "x-ccp-transport": "h1" },
      { "x-ccp-replay-of": zaiRid },
      { "x-ccp-replay-key": "guess", "x-ccp-lane": "zai", "x-ccp-replay-of": zaiRid },
    ];
    for (const forged of forgeries) {
      const res = await fetch(`${ccp.url}/v1/messages`, { method: "POST", headers: { ...base, ...forged }, body });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe("permission_error");
    }
    expect((await upstream.requests()).filter((q) => q.path.includes("/v1/messages"))).toEqual([]);
  });

  test("a rid with no capture, and a bad rid, say so", async () => {
    const missing = await replay("ccp_nosuchrequest0");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no capture of ccp_nosuchrequest0");
    const bad = await replay("../etc/passwd");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("is not a request id");
  });
});
