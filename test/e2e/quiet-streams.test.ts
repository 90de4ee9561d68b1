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
  await upstream.script([{ kind: "normal", firstEventDelayMs: 12_000 }, { kind: "normal", pauseAfterEvents: 3, pauseMs: 12_000 }]);
  const [before, middle] = await Promise.all([post().then((r) => r.text()), post().then((r) => r.text())]);
  for (const text of [before, middle]) {
    expect(text).toStartWith("event: message_start");
    expect(text).toContain("event: message_stop");
    expect(text).not.toContain("event: error");
  }
});

test("a stream still open when the shutdown grace ends gets an event: error frame, and its usage line", async () => {
  const own = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "z" } });
  try {
    await upstream.script([{ kind: "stall_mid_stream", afterEvents: 2 }]);
    const res = await fetch(`${own.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k" },
      body: JSON.stringify({ model: "claude-sonnet-4-6", stream: true, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
    });
    const text = res.text();
    await Bun.sleep(200);
    const stopped = own.stop();
    expect(await text).toMatch(/\n\nevent: error\ndata: \{"type":"error"/);
    await stopped;
    const lines = await own.usage(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: 200, failure_class: "client_abort" });
  } finally {
    await own.stop();
  }
}, 60_000);
