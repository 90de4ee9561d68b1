import type { BunConn } from "./bun-socket.ts";
import { UpstreamFailure } from "./failure.ts";
import {
  FLAG,
  FRAME,
  type Frame,
  FrameReader,
  goawayFrame,
  H2_ERROR,
  H2ConnectionError,
  headersFrames,
  MAX_FRAME_PAYLOAD,
  MAX_WINDOW,
  parseSettings,
  PREFACE,
  readU32,
  rstStreamFrame,
  SETTING,
  settingsFrame,
  unpad,
  windowUpdateFrame,
  writeFrameHeader,
  frame,
} from "./h2-frames.ts";
import { encodeHeaders, HpackDecoder, HpackError } from "./hpack.ts";
import { type BodySink, SinkWaiters } from "./upload.ts";

/**
 * Response bytes a stream may receive ahead of its reader: the peer waits for our WINDOW_UPDATE
 * past it. With the stream's queue (H2_QUEUE_BYTES), it bounds what a client that stops reading
 * leaves in ccp: 128 + 128 KiB. At 100 ms from the upstream that still lets a stream run at
 * 1.3 MB/s, far above a model's pace.
 */
const STREAM_WINDOW = 128 * 1024;
/** Response bytes queued for a stream's reader before it is paused (no more WINDOW_UPDATE). */
export const H2_QUEUE_BYTES = 128 * 1024;
/** The connection-wide receive window (stream windows bound each stream; this only must not bind first). */
const CONNECTION_WINDOW = 16 * 1024 * 1024;
/** Request-body bytes queued on the socket before DATA waits for it to drain. */
const MAX_UNSENT = 256 * 1024;
/**
 * The buffer outgoing frames are gathered in until the turn's write. It is reused from write
 * to write (fresh memory for every 1 MB upload cost more than the copy into it), unless the
 * socket kept part of it to send later.
 */
const OUT_CAPACITY = 128 * 1024;
/** The largest response header list accepted (RFC 9113 §6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE). */
const MAX_HEADER_LIST = 64 * 1024;
/** Bytes the socket may hold unsent before the peer counts as not reading at all. */
const MAX_BACKLOG = 4 * 1024 * 1024;

/** What a stream tells its exchange. Exactly one of end() / fail() ends it. */
export interface StreamEvents {
  /** The stream got its id and its HEADERS are on their way: a request body may be written now. */
  open?(stream: H2Stream): void;
  /** The final (non-1xx) response headers, pseudo-headers removed. */
  head(status: number, headers: [string, string][]): void;
  data(chunk: Uint8Array): void;
  /** END_STREAM arrived after the response headers. */
  end(): void;
  fail(f: UpstreamFailure): void;
}

/**
 * One request/response stream. It is the body sink for writeBody(): write() takes the whole
 * request body once, the session sends it as flow control allows, and "drain" fires when the
 * last byte (with END_STREAM) has been handed to the socket.
 */
export class H2Stream implements BodySink {
  id = 0;
  /** What the peer lets us send on this stream (may go negative after a SETTINGS change). */
  sendWindow = 0;
  body: Uint8Array | undefined;
  paused = false;
  /** Bytes received and not yet given back with WINDOW_UPDATE. */
  unacked = 0;
  /** What the peer may still send on this stream before our next WINDOW_UPDATE. */
  recvWindow = STREAM_WINDOW;
  gotHead = false;
  localEnded = false;
  closed = false;
  readonly #waiters = new SinkWaiters();

  constructor(
    readonly session: H2Session,
    readonly headers: ReadonlyArray<readonly [string, string]>,
    readonly hasBody: boolean,
    readonly events: StreamEvents,
  ) {}

  get destroyed(): boolean {
    return this.closed;
  }

  get writableLength(): number {
    return this.body?.byteLength ?? 0;
  }

  /** The whole request body (call once, only when hasBody, from the open event): true when all of it went out at once. */
  write(body: Uint8Array): boolean {
    if (this.closed) return false;
    this.body = body;
    this.session.pump(this);
    return this.body === undefined;
  }

  once(event: "drain" | "close", fn: () => void): void {
    this.#waiters.once(event, fn);
  }

  off(event: "drain" | "close", fn: () => void): void {
    this.#waiters.off(event, fn);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.session.credit(this, 0);
  }

  /** We give up on the stream (client gone, failure): RST_STREAM CANCEL. */
  cancel(): void {
    this.session.reset(this, H2_ERROR.CANCEL);
  }

  drained(): void {
    this.#waiters.drained();
  }

  closedNow(): void {
    this.closed = true;
    this.body = undefined;
    this.#waiters.closed();
  }
}

export interface SessionOwner {
  /** The session stopped taking new streams (GOAWAY, death, exhausted ids). */
  retired(s: H2Session): void;
  /** The connection is gone; every stream has been failed. */
  closed(s: H2Session, f: UpstreamFailure): void;
}

/**
 * An HTTP/2 client connection (RFC 9113) on one of Bun's native sockets: framing, HPACK,
 * flow control both ways, SETTINGS, PING, GOAWAY and RST_STREAM. Streams beyond the peer's
 * MAX_CONCURRENT_STREAMS wait their turn. Frames produced in one turn of the event loop go
 * out in one socket write.
 */
export class H2Session {
  readonly #conn: BunConn;
  readonly #owner: SessionOwner;
  readonly #reader = new FrameReader();
  readonly #decoder = new HpackDecoder(4096);
  readonly #streams = new Map<number, H2Stream>();
  readonly #waiting: H2Stream[] = [];
  readonly #sending = new Set<H2Stream>();
  #nextId = 1;
  #sendWindow = 65_535;
  #peerInitialWindow = 65_535;
  #peerMaxFrame = MAX_FRAME_PAYLOAD;
  #peerMaxStreams = Number.POSITIVE_INFINITY;
  #connUnacked = 0;
  #recvWindow = CONNECTION_WINDOW;
  /** A header block being assembled from HEADERS + CONTINUATION. */
  #block: { streamId: number; endStream: boolean; parts: Uint8Array[]; bytes: number } | undefined;
  #out = new Uint8Array(OUT_CAPACITY);
  #outBytes = 0;
  #flushQueued = false;
  #waitingDrain = false;
  #pings = new Map<bigint, (ok: boolean) => void>();
  #pingSeq = 0n;
  #settingsSeen: ((ok: boolean) => void) | undefined;
  retired = false;
  dead = false;
  lastActivity = performance.now();

  constructor(conn: BunConn, owner: SessionOwner) {
    this.#conn = conn;
    this.#owner = owner;
    conn.listener = {
      data: (chunk) => this.#onData(chunk),
      close: (error) => this.die(new UpstreamFailure("reset", error ? `HTTP/2 session error: ${(error as NodeJS.ErrnoException).code ?? error.message}` : "HTTP/2 session closed")),
    };
    this.#send(PREFACE);
    this.#send(
      settingsFrame([
        [SETTING.ENABLE_PUSH, 0],
        [SETTING.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
        [SETTING.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
      ]),
    );
    this.#send(windowUpdateFrame(0, CONNECTION_WINDOW - 65_535));
    // Closed before we listened (its close event went to nobody): say so now.
    if (conn.destroyed) queueMicrotask(() => this.die(new UpstreamFailure("reset", "HTTP/2 connection closed as it opened", true)));
  }

  /** Resolves once the peer's first SETTINGS arrived (true), or the session died first (false). */
  settled(): Promise<boolean> {
    if (this.dead) return Promise.resolve(false);
    return new Promise((resolve) => (this.#settingsSeen = resolve));
  }

  get activeStreams(): number {
    return this.#streams.size + this.#waiting.length;
  }

  /** Opens a stream (or queues it behind the peer's concurrency limit). */
  request(headers: ReadonlyArray<readonly [string, string]>, hasBody: boolean, events: StreamEvents): H2Stream {
    const s = new H2Stream(this, headers, hasBody, events);
    if (this.dead || this.retired) {
      s.closedNow();
      queueMicrotask(() => events.fail(new UpstreamFailure("dead_session", "HTTP/2 session no longer takes streams", true)));
      return s;
    }
    if (this.#streams.size >= this.#peerMaxStreams) this.#waiting.push(s);
    else this.#open(s);
    return s;
  }

  #open(s: H2Stream): void {
    if (this.#nextId > MAX_WINDOW) {
      // Stream ids are spent: this connection takes no more (RFC 9113 §5.1.1).
      s.closedNow();
      s.events.fail(new UpstreamFailure("dead_session", "HTTP/2 stream ids exhausted", true));
      return this.#retire();
    }
    let block: Uint8Array;
    try {
      block = encodeHeaders(s.headers);
    } catch (e) {
      s.closedNow();
      return s.events.fail(new UpstreamFailure("protocol", `a request header cannot be sent over HTTP/2: ${(e as Error).message}`, true));
    }
    s.id = this.#nextId;
    this.#nextId += 2;
    s.sendWindow = this.#peerInitialWindow;
    this.#streams.set(s.id, s);
    for (const f of headersFrames(s.id, block, !s.hasBody, this.#peerMaxFrame)) this.#send(f);
    if (!s.hasBody) s.localEnded = true;
    if (s.body) this.pump(s);
    s.events.open?.(s);
  }

  /**
   * Sends what request bodies the windows and the socket allow now, one frame per stream in
   * turn, so one large upload does not hold the others back.
   */
  pump(withBody?: H2Stream): void {
    if (this.dead) return;
    // A body written before its stream opened waits for #open to bring it here.
    if (withBody?.body && withBody.id !== 0) this.#sending.add(withBody);
    let progress = true;
    while (progress && this.#sending.size > 0 && this.#room()) {
      progress = false;
      for (const s of this.#sending) {
        const body = s.body!;
        const n = Math.min(body.byteLength, s.sendWindow, this.#sendWindow, MAX_FRAME_PAYLOAD); // larger frames would not fit the write buffer
        if (n <= 0) continue;
        const last = n === body.byteLength;
        this.#sendData(s.id, last ? FLAG.END_STREAM : 0, body.subarray(0, n));
        s.sendWindow -= n;
        this.#sendWindow -= n;
        s.body = last ? undefined : body.subarray(n);
        progress = true;
        if (last) {
          this.#sending.delete(s);
          s.localEnded = true;
          s.drained();
        }
        if (!this.#room()) break;
      }
    }
    // Blocked by the socket (not by flow control): its drain resumes us.
    if (this.#sending.size > 0 && !this.#waitingDrain && this.#conn.writableLength >= MAX_UNSENT) {
      this.#waitingDrain = true;
      this.#conn.once("drain", () => {
        this.#waitingDrain = false;
        this.pump();
      });
    }
  }

  /**
   * Whether more DATA may be queued: frames waiting for this turn's write count too, and when
   * they fill the allowance they are handed to the socket now, so only bytes the socket itself
   * holds make us wait (for its drain, which then comes).
   */
  #room(): boolean {
    if (this.#outBytes + this.#conn.writableLength < MAX_UNSENT) return true;
    this.#flush();
    return this.#conn.writableLength < MAX_UNSENT;
  }

  /** Gives received bytes back to the peer: `bytes` more were just consumed (0: only flush what a pause held). */
  credit(s: H2Stream, bytes: number): void {
    s.unacked += bytes;
    if (s.closed || s.paused || s.unacked < STREAM_WINDOW / 2) return;
    this.#send(windowUpdateFrame(s.id, s.unacked));
    s.recvWindow += s.unacked;
    s.unacked = 0;
  }

  /** Ends a stream from our side with RST_STREAM. */
  reset(s: H2Stream, code: number): void {
    if (s.closed) return;
    const queued = this.#waiting.indexOf(s);
    if (queued !== -1) this.#waiting.splice(queued, 1);
    else if (!this.dead) this.#send(rstStreamFrame(s.id, code));
    this.#closeStream(s);
  }

  /** PINGs the peer: resolves true on its ACK, false if the session dies first. */
  ping(): Promise<boolean> {
    if (this.dead) return Promise.resolve(false);
    const opaque = ++this.#pingSeq;
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setBigUint64(0, opaque);
    this.#send(frame(FRAME.PING, 0, 0, payload));
    return new Promise((resolve) => this.#pings.set(opaque, resolve));
  }

  /** Closes the connection now: every stream fails with `f`. */
  die(f: UpstreamFailure, code?: number): void {
    if (this.dead) return;
    if (code !== undefined) {
      this.#send(goawayFrame(0, code));
      this.#flush();
    }
    this.dead = true;
    this.retired = true;
    this.#conn.destroy();
    // Queued streams never reached the peer: safe to send elsewhere, whatever killed the session.
    const unsent = new UpstreamFailure(f.failureClass, f.message, true);
    for (const s of this.#waiting.splice(0)) this.#failStream(s, unsent);
    for (const s of [...this.#streams.values()]) this.#failStream(s, f);
    for (const resolve of this.#pings.values()) resolve(false);
    this.#pings.clear();
    this.#settingsSeen?.(false);
    this.#settingsSeen = undefined;
    this.#owner.closed(this, f);
  }

  /** No new streams; the connection closes once the last one is over. */
  #retire(): void {
    if (this.retired) return;
    this.retired = true;
    const unsent = new UpstreamFailure("dead_session", "HTTP/2 session stopped taking streams before this one was sent", true);
    for (const s of this.#waiting.splice(0)) this.#failStream(s, unsent);
    this.#owner.retired(this);
  }

  /** Closes the session gracefully once it has no streams left (after GOAWAY or when idle and retired). */
  closeIfIdle(): void {
    if (this.#streams.size === 0 && this.#waiting.length === 0) this.die(new UpstreamFailure("reset", "HTTP/2 session closed"), H2_ERROR.NO_ERROR);
  }

  /** Queues a whole frame for this turn's write. */
  #send(bytes: Uint8Array): void {
    if (this.#outBytes + bytes.byteLength > this.#out.byteLength) this.#flush();
    if (bytes.byteLength > this.#out.byteLength) return void (this.dead || this.#conn.write(bytes));
    this.#out.set(bytes, this.#outBytes);
    this.#outBytes += bytes.byteLength;
    this.#flushSoon();
  }

  /** Queues a DATA frame, its payload copied once, straight into the write buffer. */
  #sendData(streamId: number, flags: number, payload: Uint8Array): void {
    if (this.#outBytes + 9 + payload.byteLength > this.#out.byteLength) this.#flush();
    writeFrameHeader(this.#out, this.#outBytes, payload.byteLength, FRAME.DATA, flags, streamId);
    this.#out.set(payload, this.#outBytes + 9);
    this.#outBytes += 9 + payload.byteLength;
    this.#flushSoon();
  }

  #flushSoon(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#outBytes === 0) return;
    const backedUp = this.#conn.writableLength > 0;
    // Behind a backlog the socket keeps all of it: a copy of just these bytes, not the whole buffer.
    const out = backedUp ? this.#out.slice(0, this.#outBytes) : this.#out.subarray(0, this.#outBytes);
    this.#outBytes = 0;
    if (this.dead) return;
    this.#conn.write(out);
    // What the socket could not take at once it holds by reference: that memory is its own now.
    if (!backedUp && this.#conn.writableLength > 0) this.#out = new Uint8Array(OUT_CAPACITY);
    if (this.#conn.writableLength > MAX_BACKLOG) this.die(new UpstreamFailure("reset", "HTTP/2 peer stopped reading (over 4 MB unsent)"));
  }

  #onData(chunk: Uint8Array): void {
    this.lastActivity = performance.now();
    try {
      for (const f of this.#reader.push(chunk)) {
        if (this.dead) return;
        this.#onFrame(f);
      }
    } catch (e) {
      if (e instanceof H2ConnectionError) return this.die(new UpstreamFailure("reset", `HTTP/2 protocol error from the peer: ${e.message}`), e.code);
      if (e instanceof HpackError) return this.die(new UpstreamFailure("reset", `HTTP/2 header compression error: ${e.message}`), H2_ERROR.COMPRESSION_ERROR);
      this.die(new UpstreamFailure("reset", `HTTP/2 session failed: ${(e as Error)?.message ?? String(e)}`), H2_ERROR.INTERNAL_ERROR);
    }
  }

  #onFrame(f: Frame): void {
    if (this.#block && f.type !== FRAME.CONTINUATION) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "a header block was interrupted by another frame");
    // Only streams we opened exist: even ids (push) and ids not yet used are idle (RFC 9113 §5.1).
    if ((f.type === FRAME.DATA || f.type === FRAME.HEADERS) && f.streamId !== 0 && (f.streamId % 2 === 0 || f.streamId >= this.#nextId)) {
      throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, `frame type ${f.type} on idle stream ${f.streamId}`);
    }
    switch (f.type) {
      case FRAME.DATA:
        return this.#onDataFrame(f);
      case FRAME.HEADERS:
        if (f.streamId === 0) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "HEADERS on stream 0");
        return this.#blockPart(f.streamId, unpad(f), (f.flags & FLAG.END_STREAM) !== 0, (f.flags & FLAG.END_HEADERS) !== 0, true);
      case FRAME.CONTINUATION:
        if (!this.#block || this.#block.streamId !== f.streamId) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "CONTINUATION without a header block");
        return this.#blockPart(f.streamId, f.payload, this.#block.endStream, (f.flags & FLAG.END_HEADERS) !== 0, false);
      case FRAME.RST_STREAM:
        return this.#onReset(f);
      case FRAME.SETTINGS:
        return this.#onSettings(f);
      case FRAME.PING:
        return this.#onPing(f);
      case FRAME.GOAWAY:
        return this.#onGoaway(f);
      case FRAME.WINDOW_UPDATE:
        return this.#onWindowUpdate(f);
      case FRAME.PUSH_PROMISE:
        throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "PUSH_PROMISE although push is disabled");
      default:
        return; // PRIORITY and unknown frame types are ignored (RFC 9113 §5.5)
    }
  }

  #onDataFrame(f: Frame): void {
    if (f.streamId === 0) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "DATA on stream 0");
    // The connection window counts every DATA byte, padding and closed streams included.
    const size = f.payload.byteLength;
    this.#recvWindow -= size;
    if (this.#recvWindow < 0) throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    this.#connUnacked += size;
    if (this.#connUnacked >= CONNECTION_WINDOW / 2) {
      this.#send(windowUpdateFrame(0, this.#connUnacked));
      this.#recvWindow += this.#connUnacked;
      this.#connUnacked = 0;
    }
    const s = this.#streams.get(f.streamId);
    if (!s) return; // a stream we reset: its frames in flight are dropped
    s.recvWindow -= size;
    // A peer that ignores our window would make us buffer without bound.
    if (s.recvWindow < 0) return this.#streamError(s, "DATA beyond the stream window", H2_ERROR.FLOW_CONTROL_ERROR);
    if (!s.gotHead) return this.#streamError(s, "DATA before the response headers");
    const data = unpad(f);
    const endStream = (f.flags & FLAG.END_STREAM) !== 0;
    if (data.byteLength > 0) s.events.data(data);
    if (endStream) return this.#remoteEnd(s);
    this.credit(s, f.payload.byteLength);
  }

  #blockPart(streamId: number, part: Uint8Array, endStream: boolean, endHeaders: boolean, first: boolean): void {
    if (first) this.#block = { streamId, endStream, parts: [], bytes: 0 };
    const b = this.#block!;
    b.parts.push(part.slice());
    b.bytes += 9 + part.byteLength; // frame headers count: a flood of empty CONTINUATIONs is bounded too
    if (b.bytes > MAX_HEADER_LIST) throw new H2ConnectionError(H2_ERROR.ENHANCE_YOUR_CALM, "response header block too large");
    if (!endHeaders) return;
    this.#block = undefined;
    const block = b.parts.length === 1 ? b.parts[0]! : new Uint8Array(Bun.concatArrayBuffers(b.parts));
    // Every block is decoded, even for a stream we reset: the HPACK table is connection state.
    const list = this.#decoder.decode(block, MAX_HEADER_LIST);
    const s = this.#streams.get(streamId);
    if (!s) return;
    // Trailers: nothing ccp needs, but they must end the stream (RFC 9113 §8.1).
    if (s.gotHead) return endStream ? this.#remoteEnd(s) : this.#streamError(s, "a second header block that does not end the stream");
    const status = Number(list.find(([k]) => k === ":status")?.[1]);
    if (!Number.isInteger(status) || status < 100 || status > 599) return this.#streamError(s, "response headers without a valid :status");
    if (status < 200) return endStream ? this.#streamError(s, "an interim response ended the stream") : undefined;
    s.gotHead = true;
    s.events.head(
      status,
      list.filter(([k]) => !k.startsWith(":")),
    );
    if (endStream) this.#remoteEnd(s);
  }

  #remoteEnd(s: H2Stream): void {
    if (s.closed) return;
    // A response that is complete before our upload is: the rest of the body is not needed (RFC 9113 §8.1).
    if (!s.localEnded) this.#send(rstStreamFrame(s.id, H2_ERROR.NO_ERROR));
    this.#closeStream(s);
    s.events.end();
  }

  #streamError(s: H2Stream, why: string, code: number = H2_ERROR.PROTOCOL_ERROR): void {
    this.#send(rstStreamFrame(s.id, code));
    this.#failStream(s, new UpstreamFailure("protocol", `HTTP/2 stream ${s.id}: ${why}`));
  }

  #onReset(f: Frame): void {
    if (f.streamId === 0) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (f.payload.byteLength !== 4) throw new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, "RST_STREAM payload is not 4 bytes");
    const s = this.#streams.get(f.streamId);
    if (!s) return;
    const code = readU32(f.payload, 0);
    const refused = code === H2_ERROR.REFUSED_STREAM;
    this.#failStream(s, new UpstreamFailure(refused ? "goaway" : "reset", `HTTP/2 stream closed (RST_STREAM code ${code}) before the response ended`, refused));
  }

  #onSettings(f: Frame): void {
    if (f.streamId !== 0) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (f.flags & FLAG.ACK) {
      if (f.payload.byteLength !== 0) throw new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      return;
    }
    for (const [id, value] of parseSettings(f.payload)) {
      if (id === SETTING.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const s of this.#streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE pushed a stream window above 2^31-1");
        }
      } else if (id === SETTING.MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE out of range");
        this.#peerMaxFrame = value;
      } else if (id === SETTING.MAX_CONCURRENT_STREAMS) this.#peerMaxStreams = value;
      else if (id === SETTING.ENABLE_PUSH && value > 1) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1");
      // HEADER_TABLE_SIZE limits the peer's decoder of our blocks; ours never use the dynamic table.
    }
    this.#send(frame(FRAME.SETTINGS, FLAG.ACK, 0));
    this.#settingsSeen?.(true);
    this.#settingsSeen = undefined;
    this.#openWaiting();
    this.pump();
  }

  #onPing(f: Frame): void {
    if (f.streamId !== 0) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "PING on a stream");
    if (f.payload.byteLength !== 8) throw new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, "PING payload is not 8 bytes");
    if (!(f.flags & FLAG.ACK)) return this.#send(frame(FRAME.PING, FLAG.ACK, 0, f.payload.slice()));
    const opaque = new DataView(f.payload.buffer, f.payload.byteOffset, 8).getBigUint64(0);
    const resolve = this.#pings.get(opaque);
    this.#pings.delete(opaque);
    resolve?.(true);
  }

  #onGoaway(f: Frame): void {
    if (f.streamId !== 0) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "GOAWAY on a stream");
    if (f.payload.byteLength < 8) throw new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, "GOAWAY payload shorter than 8 bytes");
    const last = readU32(f.payload, 0) & 0x7fffffff;
    const code = readU32(f.payload, 4);
    this.#retire();
    // Streams above the peer's last stream id were never processed: safe to send elsewhere.
    const refused = new UpstreamFailure("goaway", `HTTP/2 peer sent GOAWAY (code ${code}); the stream was not processed`, true);
    for (const s of [...this.#streams.values()]) if (s.id > last) this.#failStream(s, refused);
    for (const s of this.#waiting.splice(0)) this.#failStream(s, refused);
    this.closeIfIdle();
  }

  #onWindowUpdate(f: Frame): void {
    if (f.payload.byteLength !== 4) throw new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, "WINDOW_UPDATE payload is not 4 bytes");
    const inc = readU32(f.payload, 0) & 0x7fffffff;
    if (f.streamId === 0) {
      if (inc === 0) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "WINDOW_UPDATE of 0 on the connection");
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW) throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "connection window above 2^31-1");
    } else {
      const s = this.#streams.get(f.streamId);
      if (!s) return;
      if (inc === 0) return this.#streamError(s, "WINDOW_UPDATE of 0");
      s.sendWindow += inc;
      if (s.sendWindow > MAX_WINDOW) return this.#streamError(s, "stream window above 2^31-1", H2_ERROR.FLOW_CONTROL_ERROR);
    }
    this.pump();
  }

  #failStream(s: H2Stream, f: UpstreamFailure): void {
    if (s.closed) return;
    this.#closeStream(s);
    s.events.fail(f);
  }

  #closeStream(s: H2Stream): void {
    if (s.closed) return;
    this.#streams.delete(s.id);
    this.#sending.delete(s);
    s.closedNow();
    if (this.dead) return;
    this.#openWaiting();
    if (this.retired) this.closeIfIdle();
  }

  #openWaiting(): void {
    while (this.#waiting.length > 0 && this.#streams.size < this.#peerMaxStreams && !this.retired) this.#open(this.#waiting.shift()!);
  }
}
