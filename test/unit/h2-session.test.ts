import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { dialNative } from "../../src/upstream/bun-socket.ts";
import type { UpstreamFailure } from "../../src/upstream/failure.ts";
import { FLAG, FRAME, type Frame, FrameReader, frame, goawayFrame, H2_ERROR, headersFrames, readU32, rstStreamFrame, SETTING, settingsFrame, windowUpdateFrame } from "../../src/upstream/h2-frames.ts";
import { H2Session } from "../../src/upstream/h2-session.ts";
import type { H2Stream, StreamEvents } from "../../src/upstream/h2-stream.ts";
import { encodeHeaders } from "../../src/upstream/hpack.ts";

/**
 * H2Session against a scripted HTTP/2 peer on loopback (plain TCP: TLS and ALPN are the
 * transport's business, covered end to end). The peer records every frame the client sends
 * and answers through the script each test gives it.
 */
interface Peer {
  readonly port: number;
  readonly frames: Frame[];
  send(bytes: Uint8Array): void;
  /** Resolves with the first received frame matching `pred` (waits for it). */
  next(pred: (f: Frame) => boolean): Promise<Frame>;
  close(): void;
}

const peers: Peer[] = [];
afterEach(() => {
  for (const p of peers.splice(0)) p.close();
});

function startPeer(settings: [number, number][] = []): Peer {
  const frames: Frame[] = [];
  const waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  let sock: Socket<undefined> | undefined;
  let prefaceLeft = 24;
  const reader = new FrameReader();
  const server = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        sock = s;
        s.write(settingsFrame(settings));
      },
      data(_s, chunk) {
        let bytes: Uint8Array = chunk;
        if (prefaceLeft > 0) {
          const skip = Math.min(prefaceLeft, bytes.length);
          prefaceLeft -= skip;
          bytes = bytes.subarray(skip);
        }
        for (const f of reader.push(bytes)) {
          const copy = { ...f, payload: f.payload.slice() };
          frames.push(copy);
          for (const w of [...waiters]) if (w.pred(copy)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(copy);
        }
      },
    },
  });
  const peer: Peer = {
    port: server.port,
    frames,
    send: (bytes) => void sock?.write(bytes),
    next: (pred) => {
      const seen = frames.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    close: () => {
      sock?.terminate();
      server.stop(true);
    },
  };
  peers.push(peer);
  return peer;
}

async function connect(peer: Peer) {
  const conn = await dialNative(new URL(`http://127.0.0.1:${peer.port}`), { connectMs: 2000, tlsMs: 2000, alpn: [], ca: undefined });
  const closed: UpstreamFailure[] = [];
  const session = new H2Session(conn, { retired: () => {}, closed: (_s, f) => closed.push(f) });
  expect(await session.settled()).toBe(true);
  return { session, closed };
}

/** A stream's events as a log, and a promise for its end or failure. */
function recorder() {
  const log: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  let failure: UpstreamFailure | undefined;
  const events: StreamEvents = {
    head: (status, headers) => log.push(`head ${status} ${headers.map(([k, v]) => `${k}=${v}`).join(",")}`),
    data: (chunk) => log.push(`data ${new TextDecoder().decode(chunk)}`),
    end: () => {
      log.push("end");
      done();
    },
    fail: (f) => {
      failure = f;
      log.push(`fail ${f.failureClass}`);
      done();
    },
  };
  return { log, events, finished, failure: () => failure };
}

const GET: [string, string][] = [
  [":method", "GET"],
  [":scheme", "https"],
  [":authority", "x"],
  [":path", "/"],
];
const isHeaders = (id?: number) => (f: Frame) => f.type === FRAME.HEADERS && (id === undefined || f.streamId === id);
const responseHead = (id: number, status: number, endStream = false) =>
  headersFrames(
    id,
    encodeHeaders([
      [":status", String(status)],
      ["content-type", "text/event-stream"],
    ]),
    endStream,
    16_384,
  );
const data = (id: number, text: string, flags = 0) => frame(FRAME.DATA, flags, id, new TextEncoder().encode(text));

/** Stream 1 with its response headers in, paused by its reader before any body arrives. */
async function pausedStream() {
  const peer = startPeer();
  const { session } = await connect(peer);
  const r = recorder();
  const stream = session.request(GET, false, r.events);
  await peer.next(isHeaders(1));
  for (const f of responseHead(1, 200)) peer.send(f);
  stream.pause();
  return { peer, r, stream };
}

describe("H2Session against a scripted peer", () => {
  test("a response in HEADERS + CONTINUATION, padded DATA and trailers reaches the stream in order", async () => {
    const peer = startPeer();
    const { session } = await connect(peer);
    const r = recorder();
    session.request(GET, false, r.events);
    const h = await peer.next(isHeaders());
    expect(h.flags & FLAG.END_STREAM).toBe(FLAG.END_STREAM);
    const block = encodeHeaders([
      [":status", "200"],
      ["x-long", "v".repeat(30_000)],
    ]);
    for (const f of headersFrames(h.streamId, block, false, 16_384)) peer.send(f);
    peer.send(frame(FRAME.DATA, FLAG.PADDED, h.streamId, new Uint8Array([3, 104, 105, 0, 0, 0])));
    for (const f of headersFrames(h.streamId, encodeHeaders([["trailer-x", "1"]]), true, 16_384)) peer.send(f);
    await r.finished;
    expect(r.log).toEqual([`head 200 x-long=${"v".repeat(30_000)}`, "data hi", "end"]);
  });

  test("an interim 1xx response is skipped; a response that ends with its headers has an empty body", async () => {
    const peer = startPeer();
    const { session } = await connect(peer);
    const r = recorder();
    session.request(GET, false, r.events);
    const h = await peer.next(isHeaders());
    for (const f of headersFrames(h.streamId, encodeHeaders([[":status", "103"]]), false, 16_384)) peer.send(f);
    for (const f of responseHead(h.streamId, 204, true)) peer.send(f);
    await r.finished;
    expect(r.log).toEqual(["head 204 content-type=text/event-stream", "end"]);
  });

  test("a request body larger than the peer's windows waits for WINDOW_UPDATE and ends with END_STREAM", async () => {
    const peer = startPeer([[SETTING.INITIAL_WINDOW_SIZE, 10_000]]);
    const { session } = await connect(peer);
    const r = recorder();
    const stream = session.request([[":method", "POST"], ...GET.slice(1)], true, r.events);
    const body = new Uint8Array(100_000).fill(65);
    expect(stream.write(body)).toBe(false);
    const sentBytes = () => peer.frames.filter((f) => f.type === FRAME.DATA).reduce((n, f) => n + f.payload.length, 0);
    await peer.next(isHeaders());
    await Bun.sleep(50);
    expect(sentBytes()).toBe(10_000); // the stream window, not more
    expect(stream.writableLength).toBe(90_000);
    peer.send(windowUpdateFrame(1, 200_000)); // the connection window (65 535) binds next
    await Bun.sleep(50);
    expect(sentBytes()).toBe(65_535);
    const drained = new Promise<void>((resolve) => stream.once("drain", resolve));
    peer.send(windowUpdateFrame(0, 100_000));
    await drained;
    const last = await peer.next((f) => f.type === FRAME.DATA && (f.flags & FLAG.END_STREAM) !== 0);
    expect(sentBytes()).toBe(100_000);
    expect(last.payload.length).toBeLessThanOrEqual(16_384);
    for (const f of responseHead(1, 200, true)) peer.send(f);
    await r.finished;
  });

  test("a body larger than the socket allowance goes out whole when the windows allow it (no wait for a drain that never comes)", async () => {
    const peer = startPeer([[SETTING.INITIAL_WINDOW_SIZE, 4 * 1024 * 1024]]);
    const { session } = await connect(peer);
    peer.send(windowUpdateFrame(0, 4 * 1024 * 1024));
    await Bun.sleep(20);
    const r = recorder();
    const stream = session.request([[":method", "POST"], ...GET.slice(1)], true, r.events);
    const drained = new Promise<void>((resolve) => stream.once("drain", resolve));
    stream.write(new Uint8Array(1024 * 1024).fill(66));
    await drained;
    await peer.next((f) => f.type === FRAME.DATA && (f.flags & FLAG.END_STREAM) !== 0);
    expect(peer.frames.filter((f) => f.type === FRAME.DATA).reduce((n, f) => n + f.payload.length, 0)).toBe(1024 * 1024);
    for (const f of responseHead(1, 200, true)) peer.send(f);
    await r.finished;
  });

  test("streams beyond the peer's MAX_CONCURRENT_STREAMS wait for a slot, in order", async () => {
    const peer = startPeer([[SETTING.MAX_CONCURRENT_STREAMS, 1]]);
    const { session } = await connect(peer);
    const a = recorder();
    const b = recorder();
    session.request(GET, false, a.events);
    session.request(GET, false, b.events);
    await peer.next(isHeaders(1));
    await Bun.sleep(50);
    expect(peer.frames.filter(isHeaders()).length).toBe(1);
    for (const f of responseHead(1, 200, true)) peer.send(f);
    await peer.next(isHeaders(3));
    for (const f of responseHead(3, 200)) peer.send(f);
    peer.send(data(3, "b", FLAG.END_STREAM));
    await Promise.all([a.finished, b.finished]);
    expect(b.log).toEqual(["head 200 content-type=text/event-stream", "data b", "end"]);
  });

  test("RST_STREAM REFUSED_STREAM fails the stream as goaway, safe to resend; other codes as reset", async () => {
    const peer = startPeer();
    const { session } = await connect(peer);
    const a = recorder();
    const b = recorder();
    session.request(GET, false, a.events);
    session.request(GET, false, b.events);
    await peer.next(isHeaders(3));
    peer.send(rstStreamFrame(1, H2_ERROR.REFUSED_STREAM));
    for (const f of responseHead(3, 200)) peer.send(f);
    peer.send(rstStreamFrame(3, H2_ERROR.INTERNAL_ERROR));
    await Promise.all([a.finished, b.finished]);
    expect([a.failure()?.failureClass, a.failure()?.beforeRequestSent]).toEqual(["goaway", true]);
    expect([b.failure()?.failureClass, b.failure()?.beforeRequestSent]).toEqual(["reset", false]);
    expect(b.failure()?.message).toContain("RST_STREAM code 2");
  });

  test("GOAWAY: streams above its last id fail as goaway, the others finish; then the connection closes", async () => {
    const peer = startPeer();
    const { session, closed } = await connect(peer);
    const a = recorder();
    const b = recorder();
    session.request(GET, false, a.events);
    session.request(GET, false, b.events);
    await peer.next(isHeaders(3));
    peer.send(goawayFrame(1, H2_ERROR.NO_ERROR));
    await b.finished;
    expect([b.failure()?.failureClass, b.failure()?.beforeRequestSent]).toEqual(["goaway", true]);
    expect(session.retired).toBe(true);
    const late = recorder();
    session.request(GET, false, late.events);
    await late.finished;
    expect(late.failure()?.failureClass).toBe("dead_session");
    for (const f of responseHead(1, 200)) peer.send(f);
    peer.send(data(1, "a", FLAG.END_STREAM));
    await a.finished;
    expect(a.log).toEqual(["head 200 content-type=text/event-stream", "data a", "end"]);
    expect(session.dead).toBe(true);
    expect(closed.length).toBe(1);
  });

  test("PING: the peer's is answered with the same payload; ours resolves on the ACK", async () => {
    const peer = startPeer();
    const { session } = await connect(peer);
    peer.send(frame(FRAME.PING, 0, 0, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])));
    const ack = await peer.next((f) => f.type === FRAME.PING && (f.flags & FLAG.ACK) !== 0);
    expect([...ack.payload]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const pong = session.ping();
    const ours = await peer.next((f) => f.type === FRAME.PING && f.flags === 0);
    peer.send(frame(FRAME.PING, FLAG.ACK, 0, ours.payload));
    expect(await pong).toBe(true);
  });

  test("a stream we cancel is reset with CANCEL; its late frames are dropped but still counted for the connection", async () => {
    const peer = startPeer();
    const { session } = await connect(peer);
    const a = recorder();
    const stream = session.request(GET, false, a.events);
    await peer.next(isHeaders(1));
    stream.cancel();
    const rst = await peer.next((f) => f.type === FRAME.RST_STREAM);
    expect([rst.streamId, readU32(rst.payload, 0)]).toEqual([1, H2_ERROR.CANCEL]);
    for (const f of responseHead(1, 200)) peer.send(f);
    peer.send(data(1, "late", FLAG.END_STREAM));
    const b = recorder();
    session.request(GET, false, b.events);
    await peer.next(isHeaders(3));
    for (const f of responseHead(3, 200, true)) peer.send(f);
    await b.finished;
    expect(a.log).toEqual([]);
  });

  test("a response body beyond the stream window is not given back while the stream is paused", async () => {
    const { peer, r, stream } = await pausedStream();
    const chunk = "x".repeat(16_000);
    for (let i = 0; i < 8; i++) peer.send(data(1, chunk)); // 128 000 bytes: within the 131 072 window
    await Bun.sleep(100);
    const streamUpdates = () => peer.frames.filter((f) => f.type === FRAME.WINDOW_UPDATE && f.streamId === 1);
    expect(streamUpdates().length).toBe(0);
    stream.resume();
    const update = await peer.next((f) => f.type === FRAME.WINDOW_UPDATE && f.streamId === 1);
    expect(readU32(update.payload, 0)).toBe(128_000); // DATA payload bytes, not frame headers
    peer.send(data(1, "", FLAG.END_STREAM));
    await r.finished;
  });

  test("a peer that sends past our stream window gets RST_STREAM FLOW_CONTROL_ERROR; nothing is buffered beyond it", async () => {
    const { peer, r } = await pausedStream();
    const chunk = "y".repeat(16_384);
    for (let i = 0; i < 9; i++) peer.send(data(1, chunk)); // 147 456 bytes: over the 131 072 window
    await r.finished;
    expect(r.failure()?.failureClass).toBe("protocol");
    const rst = await peer.next((f) => f.type === FRAME.RST_STREAM);
    expect(readU32(rst.payload, 0)).toBe(H2_ERROR.FLOW_CONTROL_ERROR);
    expect(r.log.filter((l) => l.startsWith("data")).length).toBe(8);
  });

  test("a queued stream opens (and may start its upload) only when a slot frees; uploads share the connection in turn", async () => {
    const peer = startPeer([
      [SETTING.MAX_CONCURRENT_STREAMS, 2],
      [SETTING.INITIAL_WINDOW_SIZE, 1 << 20],
    ]);
    const { session } = await connect(peer);
    const opened: number[] = [];
    const upload = (r: ReturnType<typeof recorder>) => ({
      ...r.events,
      open: (st: H2Stream) => {
        opened.push(st.id);
        st.write(new Uint8Array(128 * 1024).fill(st.id));
      },
    });
    const [a, b, c] = [recorder(), recorder(), recorder()];
    const POST: [string, string][] = [[":method", "POST"], ...GET.slice(1)];
    session.request(POST, true, upload(a));
    session.request(POST, true, upload(b));
    session.request(POST, true, upload(c));
    expect(opened).toEqual([1, 3]);
    // The connection window (65 535) goes to stream 1; once it reopens, the two take turns.
    await peer.next(isHeaders(3));
    await Bun.sleep(50);
    const before = peer.frames.filter((f) => f.type === FRAME.DATA).length;
    peer.send(windowUpdateFrame(0, 4 << 20));
    await peer.next((f) => f.type === FRAME.DATA && f.streamId === 3 && (f.flags & FLAG.END_STREAM) !== 0);
    const after = peer.frames
      .filter((f) => f.type === FRAME.DATA)
      .map((f) => f.streamId)
      .slice(before);
    expect(after.slice(0, 6)).toEqual([1, 3, 1, 3, 1, 3]);
    for (const f of responseHead(1, 200, true)) peer.send(f);
    await a.finished;
    await peer.next((f) => f.type === FRAME.DATA && f.streamId === 5 && (f.flags & FLAG.END_STREAM) !== 0);
    expect(opened).toEqual([1, 3, 5]);
    for (const f of responseHead(3, 200, true)) peer.send(f);
    for (const f of responseHead(5, 200, true)) peer.send(f);
    await Promise.all([b.finished, c.finished]);
  });

  test("DATA on a stream never opened is a connection error", async () => {
    const peer = startPeer();
    const { session } = await connect(peer);
    peer.send(data(9, "x"));
    const goaway = await peer.next((f) => f.type === FRAME.GOAWAY);
    expect(readU32(goaway.payload, 4)).toBe(H2_ERROR.PROTOCOL_ERROR);
    expect(session.dead).toBe(true);
  });

  test("a protocol violation kills the session with GOAWAY; its streams fail as reset", async () => {
    const peer = startPeer();
    const { session, closed } = await connect(peer);
    const r = recorder();
    session.request(GET, false, r.events);
    await peer.next(isHeaders(1));
    peer.send(frame(FRAME.DATA, 0, 0, new Uint8Array(1))); // DATA on stream 0
    await r.finished;
    expect(r.failure()?.failureClass).toBe("reset");
    expect(r.failure()?.message).toContain("DATA on stream 0");
    expect(session.dead).toBe(true);
    expect(closed.length).toBe(1);
    const goaway = await peer.next((f) => f.type === FRAME.GOAWAY);
    expect(readU32(goaway.payload, 4)).toBe(H2_ERROR.PROTOCOL_ERROR);
  });
});
