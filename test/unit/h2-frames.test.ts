import { expect, test } from "bun:test";
import { FLAG, FRAME, FrameReader, frame, H2ConnectionError, headersFrames, parseSettings, settingsFrame, unpad, windowUpdateFrame } from "../../src/upstream/h2-frames.ts";

test("FrameReader cuts frames out of reads of any size, a frame split across reads included", () => {
  const bytes = new Uint8Array([...frame(FRAME.DATA, FLAG.END_STREAM, 1, new Uint8Array([1, 2, 3])), ...frame(FRAME.PING, 0, 0, new Uint8Array(8).fill(7)), ...windowUpdateFrame(3, 1000)]);
  for (const step of [1, 2, 5, 9, 13, bytes.length]) {
    const reader = new FrameReader();
    const frames = [];
    for (let i = 0; i < bytes.length; i += step) for (const f of reader.push(bytes.slice(i, i + step))) frames.push({ ...f, payload: [...f.payload] });
    expect(frames).toEqual([
      { type: FRAME.DATA, flags: FLAG.END_STREAM, streamId: 1, payload: [1, 2, 3] },
      { type: FRAME.PING, flags: 0, streamId: 0, payload: [7, 7, 7, 7, 7, 7, 7, 7] },
      { type: FRAME.WINDOW_UPDATE, flags: 0, streamId: 3, payload: [0, 0, 3, 232] },
    ]);
  }
});

test("a frame larger than 16 KiB is a FRAME_SIZE_ERROR; the stream id's reserved bit is ignored", () => {
  expect(() => new FrameReader().push(new Uint8Array([0, 0x40, 1, 0, 0, 0, 0, 0, 1]))).toThrow(H2ConnectionError);
  const [f] = new FrameReader().push(new Uint8Array([0, 0, 0, FRAME.SETTINGS, 0, 0x80, 0, 0, 5]));
  expect(f!.streamId).toBe(5);
});

test("a header block longer than the frame size goes out as HEADERS + CONTINUATION, END_STREAM on the first", () => {
  const block = new Uint8Array(40_000).fill(1);
  const frames = new FrameReader().push(new Uint8Array(Buffer.concat(headersFrames(7, block, true, 16_384))));
  expect(frames.map((f) => [f.type, f.flags, f.streamId, f.payload.length])).toEqual([
    [FRAME.HEADERS, FLAG.END_STREAM, 7, 16_384],
    [FRAME.CONTINUATION, 0, 7, 16_384],
    [FRAME.CONTINUATION, FLAG.END_HEADERS, 7, 40_000 - 32_768],
  ]);
  const [only] = new FrameReader().push(headersFrames(1, new Uint8Array(0), false, 16_384)[0]!);
  expect([only!.type, only!.flags, only!.payload.length]).toEqual([FRAME.HEADERS, FLAG.END_HEADERS, 0]);
});

test("padding and HEADERS priority fields are removed; bad padding is an error", () => {
  const padded = { type: FRAME.DATA, flags: FLAG.PADDED, streamId: 1, payload: new Uint8Array([2, 9, 8, 0, 0]) };
  expect([...unpad(padded)]).toEqual([9, 8]);
  const prio = { type: FRAME.HEADERS, flags: FLAG.PADDED | FLAG.PRIORITY, streamId: 1, payload: new Uint8Array([1, 0, 0, 0, 3, 16, 0x88, 0]) };
  expect([...unpad(prio)]).toEqual([0x88]);
  expect(() => unpad({ ...padded, payload: new Uint8Array([5, 1]) })).toThrow(H2ConnectionError);
});

test("SETTINGS round-trip; a payload not a multiple of 6 is an error", () => {
  const [f] = new FrameReader().push(
    settingsFrame([
      [4, 262_144],
      [2, 0],
    ]),
  );
  expect(parseSettings(f!.payload)).toEqual([
    [4, 262_144],
    [2, 0],
  ]);
  expect(() => parseSettings(new Uint8Array(5))).toThrow(H2ConnectionError);
});

test("a frame split across reads is whole and correct whatever the split, and later frames in the read still come out", () => {
  const big = new Uint8Array(16_384).map((_, i) => i & 0xff);
  const bytes = new Uint8Array([...frame(FRAME.DATA, 0, 1, big), ...frame(FRAME.DATA, FLAG.END_STREAM, 3, new Uint8Array([9])), ...frame(FRAME.SETTINGS, FLAG.ACK, 0)]);
  for (const cut of [1, 5, 9, 10, 8000, 16_392, 16_393, 16_394, 16_400]) {
    const reader = new FrameReader();
    const frames = [...reader.push(bytes.slice(0, cut)), ...reader.push(bytes.slice(cut))].map((f) => ({ ...f, payload: [...f.payload] }));
    expect(frames.map((f) => [f.type, f.flags, f.streamId, f.payload.length])).toEqual([
      [FRAME.DATA, 0, 1, 16_384],
      [FRAME.DATA, FLAG.END_STREAM, 3, 1],
      [FRAME.SETTINGS, FLAG.ACK, 0, 0],
    ]);
    expect(frames[0]!.payload).toEqual([...big]);
  }
});
