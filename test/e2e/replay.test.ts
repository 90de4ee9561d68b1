import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { laneConfig, startCcp, type CcpProcess } from "../support/ccp.ts";
import { HAIKU, SONNET } from "../support/claude.ts";
import { cliHome, runCli } from "../support/cli.ts";
import { type Behaviour, type FakeUpstream, startFakeUpstream } from "../support/fake-upstream/index.ts";
import type { Side } from "../../src/ops/replay.ts";

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

describe("ccp replay, row by row: a first run that needed a retry beside replays that differ in every row", () => {
  let rid: string;
  const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  const inStream = (message: string): Behaviour => ({ kind: "sse", frames: frame("error", { type: "error", error: { type: "rate_limit_error", message } }) });
  /** A complete stream whose every counted field differs from the fake's normal one (25 in, 5 out, end_turn), its first byte after `waitMs`. */
  const slowCutShort = (waitMs: number): Behaviour => ({
    kind: "raw",
    headers: [["content-type", "text/event-stream"]],
    waits: [waitMs],
    pieces: [
      frame("message_start", {
        type: "message_start",
        message: { id: "msg_r", type: "message", role: "assistant", model: "glm-4.5-air", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 31, output_tokens: 1 } },
      }),
      frame("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      frame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "cut short" } }),
      frame("content_block_stop", { type: "content_block_stop", index: 0 }),
      frame("message_delta", { type: "message_delta", delta: { stop_reason: "max_tokens", stop_sequence: null }, usage: { output_tokens: 64 } }),
      frame("message_stop", { type: "message_stop" }),
    ],
  });
  /** The table's rows by name: [then, now] (cells are set apart by two spaces or more). */
  const rowsOf = (stdout: string): Record<string, string[]> =>
    Object.fromEntries(
      stdout
        .split("\n")
        .map((l) => l.split(/\s{2,}/))
        .filter((cells) => cells.length === 3)
        .map(([name, then, now]) => [name!, [then!, now!]]),
    );
  type Result = { then: Side; now: Side };

  beforeAll(async () => {
    await upstream.reset();
    // The first run: an in-stream [1302] (the burst limit), retried by ccp, then the answer.
    await upstream.script([inStream("[1302] High concurrency usage of this API"), { kind: "normal", text: "the answer after a retry" }], { endpoint: "messages" });
    const { response } = await client.messages.stream({ model: HAIKU, max_tokens: 64, messages: [{ role: "user", content: "say it" }] }).withResponse();
    rid = response.headers.get("x-ccp-rid")!;
    await ccp.usage((await ccp.usage()).length + 1);
    expect(await lineOf(rid)).toMatchObject({ status: 200, failure_class: null, stop_reason: "end_turn", input_tokens: 25, output_tokens: 5 });
  });

  test("a replay answered at once: attempts, failure, time to first token, stop reason and tokens side by side, in text and in --json", async () => {
    const first = (await lineOf(rid))!;
    await upstream.reset();
    await upstream.script([slowCutShort(700), slowCutShort(700)], { endpoint: "messages" });
    const r = await replay(rid);
    expect(r.code).toBe(0);
    const rows = rowsOf(r.stdout);
    const nowRid = rows.rid![1]!;
    const now = (await lineOf(nowRid))!;
    expect(now).toMatchObject({ replay_of: rid, status: 200, failure_class: null, stop_reason: "max_tokens", input_tokens: 31, output_tokens: 64 });
    expect(now.ttft_ms as number).toBeGreaterThanOrEqual(700);
    expect(rows).toMatchObject({
      status: ["200", "200"],
      attempts: ["zai h1 in_stream_error, zai h1 ok", "zai h1 ok"],
      failure: ["-", "-"],
      "ttft ms": [String(first.ttft_ms), String(now.ttft_ms)],
      "stop reason": ["end_turn", "max_tokens"],
      "tokens in/out": ["25 / 5", "31 / 64"],
    });
    const json = await replay(rid, "--json");
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as Result;
    expect(result.then).toMatchObject({
      rid,
      attempts: ["zai h1 in_stream_error", "zai h1 ok"],
      failure_class: null,
      ttft_ms: first.ttft_ms,
      stop_reason: "end_turn",
      input_tokens: 25,
      output_tokens: 5,
    });
    const again = (await lineOf(result.now.rid!))!;
    expect(again.ttft_ms as number).toBeGreaterThanOrEqual(700);
    expect(result.now).toMatchObject({ status: 200, attempts: ["zai h1 ok"], failure_class: null, ttft_ms: again.ttft_ms, stop_reason: "max_tokens", input_tokens: 31, output_tokens: 64 });
  });

  test("a replay the upstream refuses: its failure class and attempt beside the retried success, in text and in --json (exit 1)", async () => {
    await upstream.reset();
    const refusal: Behaviour = { kind: "status", status: 400, body: { type: "error", error: { type: "invalid_request_error", message: "refused this time" } } };
    await upstream.script([refusal, refusal], { endpoint: "messages" });
    const r = await replay(rid);
    expect(r.code).toBe(1);
    const first = (await lineOf(rid))!;
    const rows = rowsOf(r.stdout);
    expect(rows).toMatchObject({
      status: ["200", "400"],
      attempts: ["zai h1 in_stream_error, zai h1 ok", "zai h1 http_status"],
      failure: ["-", "http_status"],
      "ttft ms": [String(first.ttft_ms), "-"],
      "stop reason": ["end_turn", "-"],
      "tokens in/out": ["25 / 5", "- / -"],
    });
    const json = await replay(rid, "--json");
    expect(json.code).toBe(1);
    const result = JSON.parse(json.stdout) as Result;
    expect(result.then).toMatchObject({ status: 200, attempts: ["zai h1 in_stream_error", "zai h1 ok"], failure_class: null, stop_reason: "end_turn" });
    expect(result.now).toMatchObject({ status: 400, attempts: ["zai h1 http_status"], failure_class: "http_status", ttft_ms: null, stop_reason: null, input_tokens: null, output_tokens: null });
  });
});
