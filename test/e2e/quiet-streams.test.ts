import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { laneConfig, startCcp, type CcpProcess } from "../support/ccp.ts";

/** Bun.serve closes connections idle for 10 s by default; a quiet stream must outlive that. */
let upstream: FakeUpstream;
let ccp: CcpProcess;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "z" } });
});
afterAll(async () => {
  await ccp?.stop();
  await upstream?.close();
});

const post = () =>
  fetch(`${ccp.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "k" },
    body: JSON.stringify({ model: "claude-sonnet-4-6", stream: true, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
  });

test("12 s of silence before the first event, and 12 s in the middle of a stream, both survive", async () => {
  await upstream.script([
    { kind: "normal", firstEventDelayMs: 12_000 },
    { kind: "normal", pauseAfterEvents: 3, pauseMs: 12_000 },
  ]);
  const [before, middle] = await Promise.all([post().then((r) => r.text()), post().then((r) => r.text())]);
  for (const text of [before, middle]) {
    expect(text).toStartWith("event: message_start");
    expect(text).toContain("event: message_stop");
    expect(text).not.toContain("event: error");
  }
});

test("requests still open when the shutdown grace ends: a stream gets an event: error frame, a request still waiting for headers a 503; both are recorded as shutdown", async () => {
  const own = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "z" } });
  try {
    await upstream.script([{ kind: "stall_mid_stream", afterEvents: 2 }, { kind: "stall_headers" }]);
    const post = () =>
      fetch(`${own.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": "k" },
        body: JSON.stringify({ model: "claude-sonnet-4-6", stream: true, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
      });
    const res = await post();
    const text = res.text();
    const waiting = post();
    await Bun.sleep(500);
    const stopped = own.stop();
    const streamed = await text;
    expect(streamed).toMatch(/\n\nevent: error\ndata: \{"type":"error"/);
    expect(streamed).toContain("the stream was cut: ccp is stopping");
    const refused = await waiting;
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain("ccp is stopping and its grace period for in-flight requests is over; retry the request");
    await stopped;
    const lines = await own.usage(2);
    expect(lines).toHaveLength(2);
    expect(lines).toContainEqual(expect.objectContaining({ status: 200, failure_class: "shutdown" }));
    expect(lines).toContainEqual(expect.objectContaining({ status: 503, failure_class: "shutdown" }));
    expect(own.output()).not.toContain("client_abort");
  } finally {
    await own.stop();
  }
}, 60_000);
