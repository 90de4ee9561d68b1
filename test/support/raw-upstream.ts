import net from "node:net";

/**
 * A plain-HTTP/1.1 upstream that answers each request with exactly the bytes a test gives it,
 * then closes: status lines, header names and values no HTTP library would send. Each answer
 * may quote the credential the request carried (x-api-key, else its bearer token).
 */
export type RawAnswer = (credential: string) => string | Uint8Array;

export interface RawUpstream {
  readonly url: string;
  /** Answers for the next requests, in order; a plain 200 JSON message after them. */
  script(...answers: RawAnswer[]): void;
  /** Requests received (their heads). */
  readonly heads: string[];
  close(): void;
}

export const okMessage = (text = "hi") =>
  JSON.stringify({
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "m",
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    usage: { input_tokens: 1, output_tokens: 1 },
  });

export const rawResponse = (head: string, body: string | Uint8Array = "") => {
  const b = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  return Buffer.concat([Buffer.from(`${head}\r\ncontent-length: ${b.byteLength}\r\nconnection: close\r\n\r\n`, "latin1"), b]);
};

export async function startRawUpstream(): Promise<RawUpstream> {
  const queue: RawAnswer[] = [];
  const heads: string[] = [];
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = buf.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      socket.off("data", onData);
      heads.push(head);
      const credential = /\r\nx-api-key: *([^\r]*)/i.exec(head)?.[1] ?? /\r\nauthorization: *Bearer +([^\r]*)/i.exec(head)?.[1] ?? "";
      const answer = queue.shift();
      socket.end(answer ? answer(credential) : rawResponse("HTTP/1.1 200 OK\r\ncontent-type: application/json", okMessage()));
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, script: (...a) => queue.push(...a), heads, close: () => server.close() };
}
