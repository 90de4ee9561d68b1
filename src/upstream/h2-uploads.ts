import type { BunConn } from "./bun-socket.ts";
import type { FlowWindows } from "./h2-flow.ts";
import { FLAG } from "./h2-frames.ts";
import type { H2Stream } from "./h2-stream.ts";
import type { FrameWriter } from "./h2-writer.ts";

/**
 * The request bodies going out on one connection. Each stream with body left sends one DATA
 * frame in turn, so one large upload does not hold the others back, as far as its own window,
 * the connection's and the socket allow. Flow control reopens with the peer's WINDOW_UPDATE or
 * SETTINGS (the session runs the pump again), a full socket with its drain.
 */
export class UploadPump {
  readonly #sending = new Set<H2Stream>();
  readonly #writer: FrameWriter;
  readonly #conn: BunConn;
  /** The connection's windows (each stream has its own). */
  readonly #connection: FlowWindows;
  #waitingDrain = false;
  readonly #onDrain = () => {
    this.#waitingDrain = false;
    if (!this.#writer.stopped) this.run();
  };

  constructor(writer: FrameWriter, conn: BunConn, connection: FlowWindows) {
    this.#writer = writer;
    this.#conn = conn;
    this.#connection = connection;
  }

  /** An open stream with body to send. */
  add(s: H2Stream): void {
    this.#sending.add(s);
  }

  /** A stream that closed: whatever body it has left is not sent. */
  delete(s: H2Stream): void {
    this.#sending.delete(s);
  }

  /** Sends what the windows and the socket allow now. */
  run(): void {
    let progress = true;
    while (progress && this.#sending.size > 0 && this.#writer.room()) {
      progress = false;
      for (const s of this.#sending) {
        const n = Math.min(s.sendable, this.#connection.sendable);
        if (n <= 0) continue;
        const last = n === s.writableLength;
        this.#writer.sendData(s.id, last ? FLAG.END_STREAM : 0, s.take(n));
        this.#connection.spend(n);
        progress = true;
        if (last) {
          this.#sending.delete(s);
          s.bodySent();
        }
        if (!this.#writer.room()) break;
      }
    }
    // Blocked by the socket (not by flow control): its drain resumes us.
    if (this.#sending.size > 0 && !this.#waitingDrain && this.#writer.full) {
      this.#waitingDrain = true;
      this.#conn.once("drain", this.#onDrain);
    }
  }
}
