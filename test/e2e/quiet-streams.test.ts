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
