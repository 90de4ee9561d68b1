import { expect, test } from "bun:test";
import { MESSAGE_START_HOLD, peek } from "../../src/resilience/peek.ts";
import { secretFilter } from "../../src/server/secret-filter.ts";
import { guardStream } from "../../src/sse/guard.ts";
import { UpstreamFailure } from "../../src/upstream/failure.ts";
import { BodyQueue, type ByteSource } from "../../src/upstream/body-queue.ts";
import type { UpstreamResponse } from "../../src/upstream/transport.ts";

const enc = new TextEncoder();
const STREAM =
  'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":1}}}\n\n' +
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n' +
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}\n\n' +
  'event: message_stop\ndata: {"type":"message_stop"}\n\n';

/** An upstream response whose body arrives in the given pieces, a macrotask apart (or breaks with `fail`). */
function upstream(pieces: string[], fail?: UpstreamFailure): UpstreamResponse {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      await Bun.sleep(1);
      if (i < pieces.length) c.enqueue(enc.encode(pieces[i++]!));
      else if (fail) c.error(fail);
      else c.close();
    },
  });
  return { protocol: "h1", status: 200, headers: [["content-type", "text/event-stream"]], body: body.getReader() as unknown as ByteSource };
}

async function through(pieces: string[], fail?: UpstreamFailure): Promise<{ text: string; ended: UpstreamFailure | undefined | "not yet" }> {
  const peeked = await peek(upstream(pieces, fail));
  if (peeked.kind !== "commit") throw new Error(`not committed: ${peeked.kind}`);
  let ended: UpstreamFailure | undefined | "not yet" = "not yet";
  const stream = guardStream(peeked, "ccp_test", { onFirstContent: () => {}, onEnd: (f) => (ended = f) });
  const text = await Promise.race([new Response(stream).text(), Bun.sleep(5_000).then(() => "HUNG")]);
  return { text, ended };
}

test("chunks that end mid-frame, at every split point: the whole stream arrives, nothing hangs", async () => {
  for (let cut = 1; cut < STREAM.length; cut += 7) {
    const pieces = [STREAM.slice(0, cut), STREAM.slice(cut, cut + 3), STREAM.slice(cut + 3)].filter(Boolean);
    const { text, ended } = await through(pieces);
    expect(text).toBe(STREAM);
    expect(ended).toBeUndefined();
  }
});

test("many tiny chunks (one byte each) arrive whole", async () => {
  const { text } = await through([...STREAM]);
  expect(text).toBe(STREAM);
});

test("a stream cut without message_stop, mid-frame, gets closing frames on a frame boundary", async () => {
  const cut = STREAM.indexOf("event: content_block_stop") + 10;
  const { text } = await through([STREAM.slice(0, cut)]);
  expect(text).toStartWith(STREAM.slice(0, STREAM.indexOf("event: content_block_stop")));
  expect(text).toEndWith(
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\nevent: message_delta\ndata: ' +
      '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
  );
});

test("a break mid-frame drops the partial frame and ends with an error frame", async () => {
  const cut = STREAM.indexOf("event: content_block_delta") + 20;
  const { text, ended } = await through([STREAM.slice(0, cut)], new UpstreamFailure("reset", "connection reset"));
  expect(text).toStartWith("event: message_start");
  expect(text).not.toContain("event: content_block_delta");
  expect(text).toMatch(/\n\nevent: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"upstream stream broke after it started: connection reset"\},"request_id":"ccp_test"\}\n\n$/);
  expect((ended as UpstreamFailure | undefined)?.failureClass).toBe("reset");
});

test("a client that leaves while the guard waits on the upstream: the upstream is cancelled, onEnd says client_abort once, nothing more is sent", async () => {
  let upstreamCancelled = 0;
  const queue = new BodyQueue(1024, { resume: () => {}, cancel: () => upstreamCancelled++ });
  queue.push(enc.encode(STREAM.slice(0, STREAM.indexOf("event: content_block_delta"))));
  const peeked = await peek({ protocol: "h1", status: 200, headers: [["content-type", "text/event-stream"]], body: queue });
  if (peeked.kind !== "commit") throw new Error(`not committed: ${peeked.kind}`);
  const ends: (UpstreamFailure | undefined)[] = [];
  let sent = 0;
  const stream = guardStream(peeked, "ccp_test", { onChunk: () => sent++, onFirstContent: () => {}, onEnd: (f) => ends.push(f) });
  const reader = stream.getReader();
  expect((await reader.read()).done).toBe(false); // the head went out; the guard now waits on the queue
  await Bun.sleep(20);
  const before = sent;
  await reader.cancel();
  await Bun.sleep(20);
  expect(upstreamCancelled).toBe(1);
  expect(ends.map((f) => f?.failureClass)).toEqual(["client_abort"]);
  queue.push(enc.encode(STREAM.slice(STREAM.indexOf("event: content_block_delta"))));
  await Bun.sleep(20);
  expect(sent).toBe(before);
});

test("a JSON body: a secret cut by any read boundary, plain or \\u-escaped, never reaches the client", async () => {
  const KEY = "zai-key-0123456789abcdef";
  const hide = secretFilter([KEY])!;
  const escaped = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
  for (const written of [KEY, escaped]) {
    const body = JSON.stringify({ type: "message", content: [{ type: "text", text: "x".repeat(40) }] })
      .replace("xxxx", `xx${"~"}`)
      .replace("~", written);
    for (let cut = 1; cut < body.length; cut++) {
      let i = 0;
      const pieces = [body.slice(0, cut), body.slice(cut)];
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (i < pieces.length) c.enqueue(enc.encode(pieces[i++]!));
          else c.close();
        },
      });
      const res: UpstreamResponse = {
        protocol: "h1",
        status: 200,
        headers: [["content-type", "application/json"]],
        body: stream.getReader() as unknown as ByteSource,
      };
      const peeked = await peek(res, "message");
      if (peeked.kind !== "commit") throw new Error("not committed");
      const text = await new Response(guardStream(peeked, "ccp_test", { hide, onFirstContent: () => {}, onEnd: () => {} })).text();
      expect(text, `cut at ${cut}`).toBe(body.replace(written, "[redacted]"));
    }
  }
});

test("an SSE frame over 1 MiB, a key cut by a read inside it: the held-back tail keeps it whole for the filter", async () => {
  const KEY = "zai-key-0123456789abcdef";
  const hide = secretFilter([KEY])!;
  const start =
    'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":1}}}\n\nevent: content_block_start\ndata: ' +
    '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n';
  const big = `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${"A".repeat(1_100_000)}${KEY}"}}\n\n`;
  const at = start.length + big.indexOf(KEY) + 10;
  const all = `${start + big}event: message_stop\ndata: {"type":"message_stop"}\n\n`;
  const pieces = [all.slice(0, start.length), all.slice(start.length, at), all.slice(at)];
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < pieces.length) c.enqueue(enc.encode(pieces[i++]!));
      else c.close();
    },
  });
  const peeked = await peek({ protocol: "h1", status: 200, headers: [["content-type", "text/event-stream"]], body: body.getReader() as unknown as ByteSource });
  if (peeked.kind !== "commit") throw new Error("not committed");
  const text = await new Response(guardStream(peeked, "ccp_test", { hide, onFirstContent: () => {}, onEnd: () => {} })).text();
  expect(text.includes(KEY)).toBe(false);
  expect(text).toContain("[redacted]");
  expect(text).toEndWith('event: message_stop\ndata: {"type":"message_stop"}\n\n');
});

test("pings before message_start are held, but only as long as the hold allows: then the answer commits and goes on", async () => {
  const ping = 'event: ping\ndata: {"type": "ping"}\n\n';
  let i = 0;
  const pieces = [ping, ping, STREAM];
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      await Bun.sleep(i === 2 ? 300 : 10);
      if (i < pieces.length) c.enqueue(enc.encode(pieces[i++]!));
      else c.close();
    },
  });
  const peeked = await peek({ protocol: "h1", status: 200, headers: [["content-type", "text/event-stream"]], body: body.getReader() as unknown as ByteSource }, "stream", {
    ms: 2_000,
    bytes: 65_536,
    pingsMs: 100,
  });
  if (peeked.kind !== "commit") throw new Error(`not committed: ${peeked.kind}`);
  expect(peeked.observation.messageStart).toBe(false); // committed on the pings, before message_start came
  const text = await new Response(guardStream(peeked, "ccp_test", { onFirstContent: () => {}, onEnd: () => {} })).text();
  expect(text).toBe(ping + ping + STREAM);
});

test("after message_start the hold ends at 64 KiB without a content block: an error within it is retried, one past it is the client's", async () => {
  expect(MESSAGE_START_HOLD.bytes).toBe(64 * 1024);
  const start = STREAM.slice(0, STREAM.indexOf("event: content_block_start"));
  const ping = 'event: ping\ndata: {"type": "ping"}\n\n';
  const pings = (bytes: number) => ping.repeat(Math.ceil(bytes / ping.length));
  const overloaded = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
  const hold = { ...MESSAGE_START_HOLD, ms: 600_000 }; // only the byte arm can end it
  expect((await peek(upstream([start, pings(60 * 1024), overloaded]), "stream", hold)).kind).toBe("in_stream_error");
  expect((await peek(upstream([start, pings(64 * 1024 + 1), overloaded]), "stream", hold)).kind).toBe("commit");
});

test("campaign B2: a stream is over at message_stop; a reset after it reaches neither the client nor the record", async () => {
  let ended: UpstreamFailure | undefined | "not yet" = "not yet";
  const peeked = await peek(upstream([STREAM], new UpstreamFailure("reset", "cut after the end")));
  if (peeked.kind !== "commit") throw new Error("not committed");
  const text = await new Response(guardStream(peeked, "ccp_test", { onFirstContent: () => {}, onEnd: (f) => (ended = f) })).text();
  expect(text).toBe(STREAM);
  expect(ended).toBeUndefined();
});

test("campaign B4: a CRLF stream that stops between its last blank line's CR and LF still gives the client message_stop, once", async () => {
  const crlf = STREAM.replaceAll("\n", "\r\n");
  const { text, ended } = await through([crlf.slice(0, -1)]);
  expect(text).toBe(crlf.slice(0, -1));
  expect(text.match(/event: message_stop/g)).toHaveLength(1);
  expect(ended).toBeUndefined();
});
