/**
 * The relay floor: the least any proxy written on Bun can cost on this machine. Raw sockets on
 * both legs (Bun.listen in front, Bun.connect with TLS behind), one upstream connection per
 * client connection, and the bytes passed through as they are: no HTTP parsing beyond finding
 * where a request ends, no headers rewritten but Host, no routing, checks, usage log, SSE guard
 * or retries. `bun run bench --floor relay` measures it as a third arm. It understands only
 * what the benchmark's load generator sends (requests with a content-length body).
 *
 * bun scripts/bench/relay.ts --upstream https://127.0.0.1:PORT --ca cert.pem
 */
import { readFileSync } from "node:fs";
import type { Socket } from "bun";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  const v = i === -1 ? undefined : process.argv[i + 1];
  if (v === undefined) throw new Error(`relay: ${name} is required`);
  return v;
};
const upstream = new URL(arg("--upstream"));
const ca = readFileSync(arg("--ca"), "utf8");

/** Bytes one socket could not take yet, written again on drain (backpressure both ways). */
class Pending {
  readonly #parts: Uint8Array[] = [];
  write(s: Socket<unknown>, bytes: Uint8Array): void {
    if (this.#parts.length > 0) {
      this.#parts.push(bytes.slice());
      return;
    }
    const n = Math.max(0, s.write(bytes));
    if (n < bytes.byteLength) this.#parts.push(bytes.slice(n));
  }
  drain(s: Socket<unknown>): void {
    while (this.#parts.length > 0) {
      const part = this.#parts[0]!;
      const n = Math.max(0, s.write(part));
      if (n < part.byteLength) {
        this.#parts[0] = part.subarray(n);
        return;
      }
      this.#parts.shift();
    }
  }
}

interface Client {
  head: Buffer;
  up: Promise<Socket<Upstream>> | undefined;
  toClient: Pending;
}
interface Upstream {
  client: Socket<Client>;
  toUpstream: Pending;
}

const HEAD_END = Buffer.from("\r\n\r\n");

function dial(client: Socket<Client>): Promise<Socket<Upstream>> {
  const { promise, resolve, reject } = Promise.withResolvers<Socket<Upstream>>();
  Bun.connect<Upstream>({
    hostname: upstream.hostname,
    port: Number(upstream.port),
    tls: { ca, serverName: "localhost" },
    data: { client, toUpstream: new Pending() },
    socket: {
      // A TLS socket takes writes only once its handshake is done.
      handshake(s, ok, err) {
        if (!ok) return reject(err);
        s.setNoDelay(true);
        resolve(s);
      },
      data(s, bytes) {
        s.data.client.data.toClient.write(s.data.client, bytes);
      },
      drain(s) {
        s.data.toUpstream.drain(s);
      },
      close(s) {
        s.data.client.end();
      },
      error(s, e) {
        reject(e);
        s.data.client.end();
      },
    },
  }).catch(reject);
  return promise;
}

/** The request with Host replaced, once its head and content-length body are all in; else undefined. */
function takeRequest(c: Client): Uint8Array | undefined {
  const end = c.head.indexOf(HEAD_END);
  if (end < 0) return undefined;
  const head = c.head.subarray(0, end).toString("latin1");
  const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
  const total = end + 4 + length;
  if (c.head.byteLength < total) return undefined;
  const lines = head.split("\r\n").filter((l) => !/^host:/i.test(l));
  const out = Buffer.concat([Buffer.from(`${lines[0]}\r\nhost: ${upstream.host}\r\n${lines.slice(1).join("\r\n")}\r\n\r\n`, "latin1"), c.head.subarray(end + 4, total)]);
  c.head = c.head.subarray(total);
  return out;
}

const server = Bun.listen<Client>({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open(s) {
      s.setNoDelay(true);
      s.data = { head: Buffer.alloc(0), up: undefined, toClient: new Pending() };
    },
    async data(s, bytes) {
      const c = s.data;
      c.head = c.head.byteLength > 0 ? Buffer.concat([c.head, bytes]) : Buffer.from(bytes);
      for (let request = takeRequest(c); request; request = takeRequest(c)) {
        c.up ??= dial(s);
        const up = await c.up.catch(() => undefined);
        if (!up) return void s.end();
        up.data.toUpstream.write(up, request);
      }
    },
    drain(s) {
      s.data.toClient.drain(s);
    },
    close(s) {
      void s.data.up?.then((up) => up.end()).catch(() => {});
    },
  },
});
console.log(`floor listening on http://127.0.0.1:${server.port}`);
