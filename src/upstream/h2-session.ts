import type { BunConn } from "./bun-socket.ts";
import { UpstreamFailure } from "./failure.ts";
import { CONNECTION_WINDOW, DEFAULT_WINDOW, FlowWindows } from "./h2-flow.ts";
import {
  FLAG,
  FRAME,
  type Frame,
  FrameReader,
  frame,
  goawayFrame,
  H2_ERROR,
  H2ConnectionError,
  headersFrames,
  MAX_WINDOW,
  PREFACE,
  readU32,
  rstStreamFrame,
  unpad,
  windowUpdateFrame,
} from "./h2-frames.ts";
import { HeaderBlockReader } from "./h2-header-block.ts";
import { ourSettings, PeerSettings } from "./h2-settings.ts";
import { H2Stream, type StreamEvents, type StreamHost } from "./h2-stream.ts";
import { UploadPump } from "./h2-uploads.ts";
import { FrameWriter } from "./h2-writer.ts";
import { encodeHeaders, HpackError } from "./hpack.ts";

export interface SessionOwner {
  /** The session stopped taking new streams (GOAWAY, death, exhausted ids). */
  retired(s: H2Session): void;
  /** The connection is gone; every stream has been failed. */
  closed(s: H2Session, f: UpstreamFailure): void;
}

/**
 * serving: takes new streams; retired: finishes the streams it has and takes no more (GOAWAY,
 * stream ids spent); dead: the connection is closed and every stream has been failed.
 */
type SessionState = "serving" | "retired" | "dead";

/**
 * An HTTP/2 client connection (RFC 9113) on one of Bun's native sockets: its streams' lifecycle
 * and the dispatch of every frame received. Streams beyond the peer's MAX_CONCURRENT_STREAMS
 * wait their turn. Its parts: one stream (h2-stream.ts), flow-control windows (h2-flow.ts),
 * request bodies sent in turn (h2-uploads.ts), header blocks (h2-header-block.ts), SETTINGS
 * (h2-settings.ts), and the frames of one turn of the event loop in one socket write
 * (h2-writer.ts).
 */
export class H2Session implements StreamHost {
  readonly #conn: BunConn;
  readonly #owner: SessionOwner;
  readonly #writer: FrameWriter;
  readonly #reader = new FrameReader();
  readonly #blocks = new HeaderBlockReader((streamId, endStream, list) => this.#onHeaderBlock(streamId, endStream, list));
  readonly #peer = new PeerSettings();
  /** The connection's windows: the receive one as our first WINDOW_UPDATE leaves it. */
  readonly #flow = new FlowWindows(DEFAULT_WINDOW, CONNECTION_WINDOW);
  readonly #uploads: UploadPump;
  #state: SessionState = "serving";
  /** Open streams by id, and those waiting for a slot under the peer's MAX_CONCURRENT_STREAMS. */
  readonly #streams = new Map<number, H2Stream>();
  readonly #waiting: H2Stream[] = [];
  #nextId = 1;
  readonly #pings = new Map<bigint, (ok: boolean) => void>();
  #pingSeq = 0n;
  #settingsSeen: ((ok: boolean) => void) | undefined;
  #lastActivity = performance.now();

  constructor(conn: BunConn, owner: SessionOwner) {
    this.#conn = conn;
    this.#owner = owner;
    this.#writer = new FrameWriter(conn, (why) => this.die(new UpstreamFailure("reset", why)));
    this.#uploads = new UploadPump(this.#writer, conn, this.#flow);
    conn.listener = {
      data: (chunk) => this.#onData(chunk),
      close: (error) => this.die(new UpstreamFailure("reset", error ? `HTTP/2 session error: ${(error as NodeJS.ErrnoException).code ?? error.message}` : "HTTP/2 session closed")),
    };
    this.#writer.send(PREFACE);
    this.#writer.send(ourSettings());
    this.#writer.send(windowUpdateFrame(0, CONNECTION_WINDOW - DEFAULT_WINDOW));
    // Closed before we listened (its close event went to nobody): say so now.
    if (conn.destroyed) queueMicrotask(() => this.die(new UpstreamFailure("reset", "HTTP/2 connection closed as it opened", true)));
  }

  /** No new streams go here (GOAWAY, death, exhausted ids). */
  get retired(): boolean {
    return this.#state !== "serving";
  }

  get dead(): boolean {
    return this.#state === "dead";
  }

  /** When the peer last sent anything (performance.now()). */
  get lastActivity(): number {
    return this.#lastActivity;
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
    if (this.retired) {
      s.close();
      queueMicrotask(() => s.reportFailure(new UpstreamFailure("dead_session", "HTTP/2 session no longer takes streams", true)));
      return s;
    }
    if (this.#streams.size >= this.#peer.maxStreams) this.#waiting.push(s);
    else this.#open(s);
    return s;
  }

  #open(s: H2Stream): void {
    if (this.#nextId > MAX_WINDOW) {
      // Stream ids are spent: this connection takes no more (RFC 9113 §5.1.1).
      s.close();
      s.reportFailure(new UpstreamFailure("dead_session", "HTTP/2 stream ids exhausted", true));
      return this.#retire();
    }
    let block: Uint8Array;
    try {
      block = encodeHeaders(s.headers);
    } catch (e) {
      s.close();
      return s.reportFailure(new UpstreamFailure("protocol", `a request header cannot be sent over HTTP/2: ${(e as Error).message}`, true));
    }
    s.opened(this.#nextId, this.#peer.initialWindow);
    this.#nextId += 2;
    this.#streams.set(s.id, s);
    for (const f of headersFrames(s.id, block, !s.hasBody, this.#peer.maxFrame)) this.#writer.send(f);
    if (s.bodyPending) this.pump(s);
    s.reportOpen();
  }

  /** Sends what request bodies the windows and the socket allow now; `withBody` has one to send. */
  pump(withBody?: H2Stream): void {
    if (this.dead) return;
    // A body written before its stream opened waits for #open to bring it here.
    if (withBody?.bodyPending && withBody.state !== "idle") this.#uploads.add(withBody);
    this.#uploads.run();
  }

  /** Gives received bytes back to the peer: `bytes` more were just consumed (0: only flush what a pause held). */
  credit(s: H2Stream, bytes: number): void {
    const increment = s.consumed(bytes);
    if (increment > 0) this.#writer.send(windowUpdateFrame(s.id, increment));
  }

  /** Ends a stream from our side with RST_STREAM. */
  reset(s: H2Stream, code: number): void {
    if (s.state === "closed") return;
    const queued = this.#waiting.indexOf(s);
    if (queued !== -1) this.#waiting.splice(queued, 1);
    else if (!this.dead) this.#writer.send(rstStreamFrame(s.id, code));
    this.#closeStream(s);
  }

  /** PINGs the peer: resolves true on its ACK, false if the session dies first. */
  ping(): Promise<boolean> {
    if (this.dead) return Promise.resolve(false);
    const opaque = ++this.#pingSeq;
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setBigUint64(0, opaque);
    this.#writer.send(frame(FRAME.PING, 0, 0, payload));
    return new Promise((resolve) => this.#pings.set(opaque, resolve));
  }

  /** Closes the connection now: every stream fails with `f`. */
  die(f: UpstreamFailure, code?: number): void {
    if (this.dead) return;
    if (code !== undefined) {
      this.#writer.send(goawayFrame(0, code));
      this.#writer.flush();
    }
    this.#state = "dead";
    this.#writer.stop();
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
    this.#state = "retired";
    const unsent = new UpstreamFailure("dead_session", "HTTP/2 session stopped taking streams before this one was sent", true);
    for (const s of this.#waiting.splice(0)) this.#failStream(s, unsent);
    this.#owner.retired(this);
  }

  /** Closes the session gracefully once it has no streams left (after GOAWAY or when idle and retired). */
  closeIfIdle(): void {
    if (this.#streams.size === 0 && this.#waiting.length === 0) this.die(new UpstreamFailure("reset", "HTTP/2 session closed"), H2_ERROR.NO_ERROR);
  }

  #onData(chunk: Uint8Array): void {
    this.#lastActivity = performance.now();
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
    if (this.#blocks.open && f.type !== FRAME.CONTINUATION) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "a header block was interrupted by another frame");
    // Only streams we opened exist: even ids (push) and ids not yet used are idle (RFC 9113 §5.1).
    if ((f.type === FRAME.DATA || f.type === FRAME.HEADERS) && f.streamId !== 0 && (f.streamId % 2 === 0 || f.streamId >= this.#nextId)) {
      throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, `frame type ${f.type} on idle stream ${f.streamId}`);
    }
    switch (f.type) {
      case FRAME.DATA:
        return this.#onDataFrame(f);
      case FRAME.HEADERS:
        if (f.streamId === 0) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "HEADERS on stream 0");
        return this.#blocks.headers(f);
      case FRAME.CONTINUATION:
        return this.#blocks.continuation(f);
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
    if (!this.#flow.receive(size)) throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    this.#flow.consume(size);
    const increment = this.#flow.due();
    if (increment > 0) this.#writer.send(windowUpdateFrame(0, increment));
    const s = this.#streams.get(f.streamId);
    if (!s) return; // a stream we reset: its frames in flight are dropped
    // A peer that ignores our window would make us buffer without bound.
    if (!s.receive(size)) return this.#streamError(s, "DATA beyond the stream window", H2_ERROR.FLOW_CONTROL_ERROR);
    if (!s.responded) return this.#streamError(s, "DATA before the response headers");
    const data = unpad(f);
    const endStream = (f.flags & FLAG.END_STREAM) !== 0;
    if (data.byteLength > 0) s.reportData(data);
    if (endStream) return this.#remoteEnd(s);
    this.credit(s, size);
  }

  /** A response's head, an interim 1xx, or its trailers. */
  #onHeaderBlock(streamId: number, endStream: boolean, list: [string, string][]): void {
    const s = this.#streams.get(streamId);
    if (!s) return;
    // Trailers: nothing ccp needs, but they must end the stream (RFC 9113 §8.1).
    if (s.responded) return endStream ? this.#remoteEnd(s) : this.#streamError(s, "a second header block that does not end the stream");
    const status = Number(list.find(([k]) => k === ":status")?.[1]);
    if (!Number.isInteger(status) || status < 100 || status > 599) return this.#streamError(s, "response headers without a valid :status");
    if (status < 200) return endStream ? this.#streamError(s, "an interim response ended the stream") : undefined;
    s.reportHead(
      status,
      list.filter(([k]) => !k.startsWith(":")),
    );
    if (endStream) this.#remoteEnd(s);
  }

  #remoteEnd(s: H2Stream): void {
    if (s.state === "closed") return;
    // A response that is complete before our upload is: the rest of the body is not needed (RFC 9113 §8.1).
    if (s.state === "open") this.#writer.send(rstStreamFrame(s.id, H2_ERROR.NO_ERROR));
    this.#closeStream(s);
    s.reportEnd();
  }

  #streamError(s: H2Stream, why: string, code: number = H2_ERROR.PROTOCOL_ERROR): void {
    this.#writer.send(rstStreamFrame(s.id, code));
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
    this.#peer.apply(f.payload, (delta) => {
      for (const s of this.#streams.values()) {
        if (!s.growSendWindow(delta)) throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE pushed a stream window above 2^31-1");
      }
    });
    this.#writer.send(frame(FRAME.SETTINGS, FLAG.ACK, 0));
    this.#settingsSeen?.(true);
    this.#settingsSeen = undefined;
    this.#openWaiting();
    this.pump();
  }

  #onPing(f: Frame): void {
    if (f.streamId !== 0) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "PING on a stream");
    if (f.payload.byteLength !== 8) throw new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, "PING payload is not 8 bytes");
    if (!(f.flags & FLAG.ACK)) return this.#writer.send(frame(FRAME.PING, FLAG.ACK, 0, f.payload.slice()));
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
      if (!this.#flow.grow(inc)) throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "connection window above 2^31-1");
    } else {
      const s = this.#streams.get(f.streamId);
      if (!s) return;
      if (inc === 0) return this.#streamError(s, "WINDOW_UPDATE of 0");
      if (!s.growSendWindow(inc)) return this.#streamError(s, "stream window above 2^31-1", H2_ERROR.FLOW_CONTROL_ERROR);
    }
    this.pump();
  }

  #failStream(s: H2Stream, f: UpstreamFailure): void {
    if (s.state === "closed") return;
    this.#closeStream(s);
    s.reportFailure(f);
  }

  #closeStream(s: H2Stream): void {
    if (s.state === "closed") return;
    this.#streams.delete(s.id);
    this.#uploads.delete(s);
    s.close();
    if (this.dead) return;
    this.#openWaiting();
    if (this.retired) this.closeIfIdle();
  }

  #openWaiting(): void {
    while (this.#waiting.length > 0 && this.#streams.size < this.#peer.maxStreams && !this.retired) this.#open(this.#waiting.shift()!);
  }
}
