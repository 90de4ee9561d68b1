import { expect, test } from "bun:test";
import { H1ProtocolError, H1ResponseParser, type H1Event } from "../../src/upstream/h1-parser.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds the response in the given split and returns (head status, body text, ended). */
function run(raw: string, splits: number[] = [], method = "POST", close = false) {
  const p = new H1ResponseParser(method);
  const bytes = enc.encode(raw);
  const events: H1Event[] = [];
  let at = 0;
  for (const s of [...splits, bytes.length]) {
    events.push(...p.push(bytes.subarray(at, s)));
    at = s;
  }
  if (close) events.push(...p.finish());
  const head = events.find((e) => e.type === "head");
  const body = events
    .filter((e) => e.type === "body")
    .map((e) => dec.decode((e as { chunk: Uint8Array }).chunk))
    .join("");
  return {
    status: head?.type === "head" ? head.status : undefined,
    headers: head?.type === "head" ? head.headers : [],
    body,
    ended: events.some((e) => e.type === "end"),
    parser: p,
  };
}

const CHUNKED = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n";

test("chunked body at every split point", () => {
  for (let i = 1; i < CHUNKED.length; i++) {
    const r = run(CHUNKED, [i]);
    expect(r).toMatchObject({ status: 200, body: "hello, world", ended: true });
  }
  expect(run(CHUNKED).headers).toContainEqual(["content-type", "text/event-stream"]);
});

test("content-length body, interim 100 Continue skipped, connection: close noted", () => {
  const raw = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy";
  const r = run(raw, [10, 30]);
  expect(r).toMatchObject({ status: 429, body: "busy", ended: true });
  expect(r.parser.connectionClose).toBe(true);
});

test("Keep-Alive: timeout=N is read as the server's idle window; absent or without timeout, unknown", () => {
  const keeps = (h: string) => run(`HTTP/1.1 200 OK\r\n${h}content-length: 0\r\n\r\n`).parser.keepAliveMs;
  expect(keeps("Keep-Alive: timeout=5\r\n")).toBe(5000);
  expect(keeps("keep-alive: max=100, timeout=30\r\n")).toBe(30_000);
  expect(keeps("keep-alive: max=100\r\n")).toBeUndefined();
  expect(keeps("")).toBeUndefined();
});

test("close-delimited body ends at finish(); a cut chunked body is an error", () => {
  const r = run("HTTP/1.1 200 OK\r\n\r\nuntil close", [], "POST", true);
  expect(r).toMatchObject({ body: "until close", ended: true });
  expect(r.parser.closeDelimited).toBe(true);
  expect(() => run("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel", [], "POST", true)).toThrow(H1ProtocolError);
});

test("HEAD and 204 have no body", () => {
  expect(run("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n", [], "HEAD")).toMatchObject({ body: "", ended: true });
  expect(run("HTTP/1.1 204 No Content\r\n\r\n")).toMatchObject({ status: 204, ended: true });
});

test.each([
  "HTTP/2 200\r\n\r\n",
  "HTTP/1.1 200 OK\r\nbad header line\r\n\r\n",
  "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
  "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
  "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
])("malformed responses are protocol errors: %p", (raw) => {
  expect(() => run(raw)).toThrow(H1ProtocolError);
});

test("chunk-size lines: hex either case, blanks around the digits, extensions; anything else is refused", () => {
  const chunked = (sizeLine: string, data = "hello") => `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${sizeLine}\r\n${data}\r\n0\r\n\r\n`;
  for (const line of ["5", "05", "00000000000000005", " 5", "5 ", "\t5\t", "5;a=b", "5 ;x", "5;"]) {
    expect(run(chunked(line), [])).toMatchObject({ body: "hello", ended: true });
  }
  expect(run(chunked("1A", "x".repeat(26)))).toMatchObject({ body: "x".repeat(26) });
  expect(run(chunked("1a", "x".repeat(26)))).toMatchObject({ body: "x".repeat(26) });
  for (const line of ["", ";ext", "+5", "-5", "0x5", "5 5", "5x", "g", "\v5", "1000000000000000"]) {
    expect(() => run(chunked(line))).toThrow(H1ProtocolError);
  }
});

test("header bytes above 0x7f are read as ISO-8859-1, one char per byte (0x80-0x9f included)", () => {
  const head = enc.encode("HTTP/1.1 200 OK\r\nx-bytes: ab\r\ncontent-length: 0\r\n\r\n");
  const bytes = new Uint8Array(head.length + 3);
  const at = "HTTP/1.1 200 OK\r\nx-bytes: a".length;
  bytes.set(head.subarray(0, at), 0);
  bytes.set([0x80, 0x9f, 0xe9], at);
  bytes.set(head.subarray(at), at + 3);
  const [ev] = new H1ResponseParser("GET").push(bytes);
  const value = (ev as Extract<H1Event, { type: "head" }>).headers.find(([k]) => k === "x-bytes")![1];
  expect([...value].map((c) => c.charCodeAt(0))).toEqual([0x61, 0x80, 0x9f, 0xe9, 0x62]);
});
