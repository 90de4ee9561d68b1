import net from "node:net";
import { readFileSync } from "node:fs";

export interface RawAnswer {
  /** Status code of the first response, 0 when none came. */
  readonly status: number;
  /** Everything received. */
  readonly text: string;
  /** The server closed the connection (rather than the wait running out). */
  readonly closed: boolean;
  readonly ms: number;
}

/**
 * One request written byte for byte on a fresh TCP connection (request lines and headers no
 * fetch client would send). Resolves when the server closes, when `until` says the answer is
 * complete, or after waitMs.
 */
export function rawRequest(port: number, write: string | Uint8Array | ((s: net.Socket) => void), o: { waitMs?: number; until?: (text: string) => boolean } = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text, closed, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), o.waitMs ?? 10_000);
    socket.on("data", (d) => {
      text += d.toString("latin1");
      if (o.until?.(text)) finish(false);
    });
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
    socket.on("connect", () => (typeof write === "function" ? write(socket) : socket.write(write)));
  });
}

/** A complete response with a content-length body has arrived. */
export const complete = (text: string): boolean => {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
  return length !== undefined && Buffer.byteLength(text.slice(end + 4), "latin1") >= Number(length);
};

/** The JSON body of a raw answer. */
export const rawJson = (a: RawAnswer): unknown => JSON.parse(a.text.slice(a.text.indexOf("\r\n\r\n") + 4));

/** Resident memory of a process, in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb ?? 0) * 1024;
}
