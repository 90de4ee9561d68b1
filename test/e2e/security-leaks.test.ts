import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { laneConfig, startCcp, type CcpProcess } from "../support/ccp.ts";
import { startFakeUpstream, type Behaviour, type FakeUpstream } from "../support/fake-upstream/index.ts";

/**
 * An upstream that echoes the credential it was sent everywhere it can: response headers, a
 * JSON body cut across two reads, a gzip body, \u-escaped text, the request id, the error type,
 * the stop reason, an error code. Whatever it does, the lane's key reaches no client, and
 * neither the key nor a passthrough client's own token reaches a file, a log line, a metric
 * label, the status page or the dashboard's data.
 */
const ZAI_KEY = "zai-lane-key-7c4b1a9e3d5f2086";
/** A passthrough client's token in no known key shape: only the request's own credentials can hide it. */
const CLIENT_TOKEN = "client-token-4f9d2b7a1c8e6035";
const escaped = (s: string) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
const FORMS = (s: string) => [s, escaped(s)];

let upstream: FakeUpstream;
let ccp: CcpProcess;
const answers: string[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
  ccp = await startCcp({
    config: laneConfig(upstream.url, upstream.caFile).replace("port = 0", 'port = 0\ncapture = "all"\npersist = true'),
    env: { ZAI_API_KEY: ZAI_KEY },
  });
});
afterAll(async () => {
  await ccp?.stop();
  await upstream?.close();
});

const HAIKU = "claude-haiku-4-5";
const SONNET = "claude-sonnet-4-5";
const zai = { pathPrefix: "/zai/" };
const anthropic = { pathPrefix: "/anthropic/" };

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const start = frame("message_start", {
  type: "message_start",
  message: { id: "msg_1", type: "message", role: "assistant", model: "glm", content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } },
});
const textBlock = (text: string) =>
  frame("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }) +
  frame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }) +
  frame("content_block_stop", { type: "content_block_stop", index: 0 });
const stop = (reason: string) => frame("message_delta", { type: "message_delta", delta: { stop_reason: reason }, usage: { output_tokens: 2 } }) + frame("message_stop", { type: "message_stop" });
const ECHO_HEADERS: [string, string][] = [
  ["x-echo", "{{credential}}"],
  ["set-cookie", "session={{credential}}; Path=/"],
  ["set-cookie", "other=1"],
  ["www-authenticate", 'Bearer realm="{{credential}}"'],
  ["request-id", "req_{{credential}}"],
  ["access-control-allow-origin", "*"],
  ["access-control-allow-headers", "*"],
];

async function post(model: string, stream: boolean, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(`${ccp.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model, max_tokens: 8, stream, messages: [{ role: "user", content: "hi" }] }),
  });
  const text = await res.text();
  answers.push(`${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${text}`);
  return new Response(text, { status: res.status, headers: res.headers });
}

const expectClean = async (res: Response) => {
  const text = await res.clone().text();
  for (const form of FORMS(ZAI_KEY)) expect(text).not.toContain(form);
  for (const [name, value] of res.headers) for (const form of FORMS(ZAI_KEY)) expect(`${name}: ${value}`).not.toContain(form);
  expect([...res.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  return text;
};

describe("an upstream that echoes the lane's key everywhere", () => {
  const script = (b: Behaviour, match = zai) => upstream.script([b], match);

  test("in headers and a stream: the stream arrives whole, the key replaced; the stop reason quoting it is recorded redacted", async () => {
    await script({
      kind: "raw",
      headers: [["content-type", "text/event-stream"], ...ECHO_HEADERS],
      pieces: [start, textBlock("key: {{credential}}"), stop("{{credential}}")],
    });
    // The key cut by the network inside one event, and written with escapes in another.
    const [before, after] = textBlock("key: {{credential.head}}~{{credential.tail}}").split("~");
    await script({
      kind: "raw",
      headers: [["content-type", "text/event-stream"], ...ECHO_HEADERS],
      pieces: [start + before!, after!, textBlock("{{credential.escaped}}") + stop("end_turn")],
      delayMs: 30,
    });
    const a = await post(HAIKU, true);
    expect(a.status).toBe(200);
    expect(await expectClean(a)).toContain("message_stop");
    const b = await post(HAIKU, true);
    expect(b.status).toBe(200);
    expect(await expectClean(b)).toContain("[redacted]");
  });

  test("a JSON reply cut inside the key, a gzip reply, an escaped key: each arrives filtered and usable", async () => {
    const message = (text: string) =>
      JSON.stringify({
        id: "msg_2",
        type: "message",
        role: "assistant",
        model: "glm",
        content: [{ type: "text", text }],
        stop_reason: "end_turn",
        usage: { input_tokens: 1, output_tokens: 1 },
      });
    const split = message("key {{credential.head}}~{{credential.tail}} end").split("~");
    await script({ kind: "raw", headers: [["content-type", "application/json"], ...ECHO_HEADERS], pieces: split, delayMs: 30 });
    await script({ kind: "raw", headers: [["content-type", "application/json"]], pieces: [message("zipped {{credential}}")], gzip: true });
    await script({ kind: "raw", headers: [["content-type", "application/json"]], pieces: [message("escaped {{credential.escaped}}")] });
    for (const expected of ["key [redacted] end", "zipped [redacted]", "escaped [redacted]"]) {
      const res = await post(HAIKU, false);
      expect(res.status).toBe(200);
      expect(JSON.parse(await expectClean(res)).content[0].text).toBe(expected);
    }
  });

  test("the SDK reads a filtered reply and a filtered error as it would the provider's own", async () => {
    const client = new Anthropic({ baseURL: ccp.url, apiKey: "unused", maxRetries: 0 });
    await script({
      kind: "raw",
      headers: [["content-type", "text/event-stream"], ...ECHO_HEADERS],
      pieces: [start, textBlock("hello {{credential}}"), stop("end_turn")],
    });
    const reply = await client.messages.create({ model: HAIKU, max_tokens: 8, messages: [{ role: "user", content: "hi" }], stream: true });
    let text = "";
    for await (const ev of reply) if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
    expect(text).toBe("hello [redacted]");
    await script({
      kind: "raw",
      status: 400,
      headers: [["content-type", "application/json"], ...ECHO_HEADERS],
      pieces: [JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "bad key {{credential}}" } })],
    });
    const error = await client.messages.create({ model: HAIKU, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(String((error as Error).message)).toContain("bad key [redacted]");
    expect(String((error as Error).message)).not.toContain(ZAI_KEY);
  });

  test("errors before and after commit whose type, message and code quote the key: answers filtered, records redacted", async () => {
    const err = (type: string, message: string) => frame("error", { type: "error", error: { type, message, code: "{{credential}}" } });
    await script({
      kind: "raw",
      headers: [["content-type", "text/event-stream"], ...ECHO_HEADERS],
      pieces: [err("{{credential}}", "before commit {{credential.escaped}}")],
    });
    await script({
      kind: "raw",
      headers: [["content-type", "text/event-stream"]],
      pieces: [start + textBlock("partial"), err("{{credential}}", "after commit {{credential}}")],
    });
    await script({
      kind: "raw",
      status: 429,
      headers: [["content-type", "application/json"], ["retry-after", "0"], ...ECHO_HEADERS],
      pieces: [JSON.stringify({ type: "error", error: { type: "{{credential}}", message: "slow down {{credential}}" } })],
    });
    for (let i = 0; i < 3; i++) await expectClean(await post(HAIKU, true));
  });

  test("a passthrough client's own token, echoed by its upstream into an error: not in the log, the record or a file", async () => {
    await script(
      {
        kind: "raw",
        status: 500,
        headers: [
          ["content-type", "application/json"],
          ["request-id", "req_{{credential}}"],
        ],
        pieces: [JSON.stringify({ type: "error", error: { type: "{{credential}}", message: "boom for {{credential}}" } })],
      },
      anthropic,
    );
    await script({ kind: "raw", status: 500, headers: [["content-type", "application/json"]], pieces: ["{}"] }, anthropic);
    await script({ kind: "raw", status: 500, headers: [["content-type", "application/json"]], pieces: ["{}"] }, anthropic);
    await script({ kind: "raw", status: 500, headers: [["content-type", "application/json"]], pieces: ["{}"] }, anthropic);
    const res = await post(SONNET, true, { "x-api-key": CLIENT_TOKEN });
    expect(res.status).toBe(500);
  });
});

describe("after all of it", () => {
  test("no file under CCP_HOME, log line, metric, status page or dashboard datum holds the key or the client's token, in any form", async () => {
    for (const path of ["/status", "/metrics", "/dashboard/data"]) {
      const res = await fetch(`${ccp.url}${path}`);
      answers.push(await res.text());
    }
    const records = await ccp.usage(9);
    expect(records.some((r) => typeof r.stop_reason === "string" && r.stop_reason.includes("[redacted]"))).toBe(true);
    expect(records.some((r) => typeof r.err_type === "string" && r.err_type.includes("[redacted]"))).toBe(true);
    await ccp.stop();
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(ccp.home);
    expect(files.some((f) => f.includes("captures"))).toBe(true);
    const haystacks: [string, string][] = [
      ...files.filter((f) => !f.endsWith("ccp.toml")).map((f): [string, string] => [f, readFileSync(f).toString("latin1")]),
      ["ccp's output", ccp.output()],
      ...answers.map((a, i): [string, string] => [`answer ${i}`, a]),
    ];
    expect(ccp.output()).toContain("boom for [redacted]");
    for (const [where, text] of haystacks) {
      for (const form of FORMS(ZAI_KEY)) if (text.includes(form)) throw new Error(`the lane's key (${form.slice(0, 20)}…) found in ${where}`);
      // The client's token went back to that client in its own error body, which is the client's business.
      if (!where.startsWith("answer ")) for (const form of FORMS(CLIENT_TOKEN)) if (text.includes(form)) throw new Error(`the client's token found in ${where}`);
    }
  });
});
