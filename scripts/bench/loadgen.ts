/**
 * The load generator, in its own process: reads one JSON job per stdin line, runs it, and
 * answers one JSON result line. Jobs:
 * - `stream`: a closed loop of `concurrency` clients sending `requests` streaming Messages
 *   requests with Bun's fetch (the same client for "direct" over TLS and "through ccp" over
 *   plain HTTP), timing time to first token and whole-stream time, checking every stream
 *   arrived complete (status 200, exact byte count, message_stop);
 * - `slow`: raw-socket clients that read the stream slowly (pause/resume), so ccp sees TCP backpressure;
 * - `disconnect`: raw-socket clients that close the connection mid-stream;
 * - `stall`: raw-socket clients that stop reading after the first delta of an endless stream,
 *   stay connected for `stallMs`, then leave (the runner watches the upstream meanwhile).
 */
import { writeFileSync } from "node:fs";
import net from "node:net";
import { requestBody, shapeHeaders, streamBytes, type StreamShape } from "./workload.ts";

export interface StreamJob {
  readonly kind: "stream";
  readonly url: string;
  /** PEM of the upstream's self-signed certificate (direct) */
  readonly ca?: string;
  /** HTTP/2 to the target (direct to an h2 upstream) */
  readonly h2: boolean;
  readonly model: string;
  readonly concurrency: number;
  readonly requests: number;
  readonly bodyBytes: number;
  readonly shape: StreamShape;
  /** check the exact byte count (off for --compare proxies, which may add or reframe) */
  readonly exact: boolean;
}

export interface SlowJob {
  readonly kind: "slow";
  readonly port: number;
  readonly clients: number;
  readonly model: string;
  readonly shape: StreamShape;
  /** bytes read before each pause */
  readonly readChunk: number;
  readonly pauseMs: number;
}

export interface DisconnectJob {
  readonly kind: "disconnect";
  readonly port: number;
  readonly clients: number;
  readonly model: string;
  readonly shape: StreamShape;
  /** deltas received before the client goes away */
  readonly afterDeltas: number;
}

export interface StallJob {
  readonly kind: "stall";
  readonly port: number;
  readonly clients: number;
  readonly model: string;
  readonly shape: StreamShape;
  /** how long the clients read nothing, from the moment the last of them stopped */
  readonly stallMs: number;
}

export type Job = (StreamJob | SlowJob | DisconnectJob | StallJob) & { readonly id: number };

export interface JobResult {
  readonly id: number;
  readonly count: number;
  readonly errorCount: number;
  /** the first few error messages */
  readonly errors: string[];
  readonly wallMs: number;
  readonly ttftMs: number[];
  readonly totalMs: number[];
  /** disconnect: Date.now() when the last client went away */
  readonly lastDisconnectAt?: number;
  /** stall: Date.now() when every client had stopped reading, and when they left */
  readonly stall?: { readonly from: number; readonly to: number };
}

const DELTA = Buffer.from("content_block_delta");
const STOP = Buffer.from("event: message_stop");
/** Debugging: streams that fail the byte check are written here (BENCH_DUMP_DIR). */
const DUMP_DIR = process.env.BENCH_DUMP_DIR;
const TIMEOUT_MS = Number(process.env.BENCH_CLIENT_TIMEOUT_MS ?? 20_000);

class Errors {
  count = 0;
  readonly first: string[] = [];
  add(msg: string): void {
    this.count++;
    if (this.first.length < 5) this.first.push(msg);
  }
}

async function streamJob(job: StreamJob): Promise<Omit<JobResult, "id">> {
  const body = new TextEncoder().encode(requestBody(job.model, job.bodyBytes));
  const expected = streamBytes(job.model, job.shape);
  const headers = { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "sk-bench", ...shapeHeaders(job.shape) };
  const url = `${job.url}/v1/messages`;
  const init = { method: "POST", headers, body, tls: job.ca ? { ca: job.ca } : undefined, protocol: job.h2 ? "http2" : undefined } as RequestInit;
  const ttftMs: number[] = [];
  const totalMs: number[] = [];
  const errors = new Errors();
  let next = 0;

  const one = async () => {
    const t0 = performance.now();
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    const res = await fetch(url, { ...init, signal });
    if (res.status !== 200) {
      errors.add(`status ${res.status}: ${(await res.text()).slice(0, 200)}`);
      return;
    }
    const reader = res.body!.getReader();
    let ttft = -1;
    let bytes = 0;
    let tail = Buffer.alloc(0);
    const kept: Buffer[] | undefined = DUMP_DIR ? [] : undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      kept?.push(Buffer.from(value));
      bytes += value.byteLength;
      const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (ttft < 0 && (chunk.indexOf(DELTA) !== -1 || Buffer.concat([tail, chunk.subarray(0, DELTA.length)]).indexOf(DELTA) !== -1)) ttft = performance.now() - t0;
      tail = Buffer.from(chunk.subarray(Math.max(0, chunk.byteLength - 64)));
    }
    const total = performance.now() - t0;
    if (ttft < 0) return errors.add("no content_block_delta in the stream");
    if (tail.indexOf(STOP) === -1) return errors.add(`stream did not end with message_stop (${bytes} bytes)`);
    if (job.exact && bytes !== expected) {
      if (kept) writeFileSync(`${DUMP_DIR}/stream-${Date.now()}-${bytes}.txt`, Buffer.concat(kept));
      return errors.add(`stream has ${bytes} bytes, expected ${expected}`);
    }
    ttftMs.push(ttft);
    totalMs.push(total);
  };
  const worker = async () => {
    while (next < job.requests) {
      next++;
      try {
        await one();
      } catch (e) {
        errors.add(`request failed: ${(e as Error).message}`);
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.requests) }, worker));
  return { count: ttftMs.length, errorCount: errors.count, errors: errors.first, wallMs: performance.now() - t0, ttftMs, totalMs };
}

/** Sends one Messages request on a raw socket (HTTP/1.1, connection: close) and hands the socket back. */
function rawRequest(port: number, model: string, shape: StreamShape): net.Socket {
  const body = requestBody(model, 4096);
  const head = [
    "POST /v1/messages HTTP/1.1",
    `host: 127.0.0.1:${port}`,
    "content-type: application/json",
    "anthropic-version: 2023-06-01",
    "x-api-key: sk-bench",
    "connection: close",
    `content-length: ${Buffer.byteLength(body)}`,
    ...Object.entries(shapeHeaders(shape)).map(([k, v]) => `${k}: ${v}`),
  ].join("\r\n");
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.write(`${head}\r\n\r\n${body}`);
  return socket;
}

async function slowJob(job: SlowJob): Promise<Omit<JobResult, "id">> {
  const errors = new Errors();
  const totalMs: number[] = [];
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const socket = rawRequest(job.port, job.model, job.shape);
      let bytes = 0;
      let sincePause = 0;
      let first = "";
      let tail = Buffer.alloc(0);
      const timer = setTimeout(() => socket.destroy(new Error("slow client timed out")), TIMEOUT_MS);
      socket.on("data", (chunk: Buffer) => {
        if (bytes === 0) first = chunk.subarray(0, 12).toString("latin1");
        bytes += chunk.byteLength;
        sincePause += chunk.byteLength;
        tail = Buffer.concat([tail, chunk]).subarray(-128);
        // One read may bring far more than readChunk (64 KB or more): the pause is as long as the
        // bytes read require, so the client really reads at readChunk per pauseMs.
        if (sincePause >= job.readChunk) {
          const pauseMs = (job.pauseMs * sincePause) / job.readChunk;
          sincePause = 0;
          socket.pause();
          setTimeout(() => socket.resume(), pauseMs);
        }
      });
      socket.on("error", (e) => errors.add(`slow client: ${e.message}`));
      socket.on("close", () => {
        clearTimeout(timer);
        if (first !== "HTTP/1.1 200") errors.add(`slow client: status line ${JSON.stringify(first)}`);
        else if (tail.indexOf(STOP) === -1) errors.add(`slow client: stream incomplete after ${bytes} bytes`);
        else totalMs.push(performance.now() - t0);
        resolve();
      });
    });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: job.clients }, one));
  return { count: totalMs.length, errorCount: errors.count, errors: errors.first, wallMs: performance.now() - t0, ttftMs: [], totalMs };
}

async function disconnectJob(job: DisconnectJob): Promise<Omit<JobResult, "id">> {
  const errors = new Errors();
  let gone = 0;
  let lastDisconnectAt = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = rawRequest(job.port, job.model, job.shape);
      let deltas = 0;
      let left = false;
      const timer = setTimeout(() => socket.destroy(), TIMEOUT_MS);
      socket.on("data", (chunk: Buffer) => {
        for (let at = chunk.indexOf(DELTA); at !== -1; at = chunk.indexOf(DELTA, at + 1)) deltas++;
        if (!left && deltas >= job.afterDeltas) {
          left = true;
          gone++;
          lastDisconnectAt = Date.now();
          socket.destroy();
        }
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        clearTimeout(timer);
        if (!left) errors.add(`disconnect client: the stream ended after ${deltas} deltas, before the client left`);
        resolve();
      });
    });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: job.clients }, one));
  return { count: gone, errorCount: errors.count, errors: errors.first, wallMs: performance.now() - t0, ttftMs: [], totalMs: [], lastDisconnectAt };
}

async function stallJob(job: StallJob): Promise<Omit<JobResult, "id">> {
  const errors = new Errors();
  const sockets: net.Socket[] = [];
  const t0 = performance.now();
  // Each client reads until its first delta, then stops reading (its kernel buffer fills, then ccp's socket's).
  await Promise.all(
    Array.from(
      { length: job.clients },
      () =>
        new Promise<void>((resolve) => {
          const socket = rawRequest(job.port, job.model, job.shape);
          sockets.push(socket);
          const timer = setTimeout(() => {
            errors.add("stall client: no delta within the client timeout");
            resolve();
          }, TIMEOUT_MS);
          socket.on("data", (chunk: Buffer) => {
            if (chunk.indexOf(DELTA) === -1) return;
            socket.pause();
            clearTimeout(timer);
            resolve();
          });
          socket.on("error", (e) => errors.add(`stall client: ${e.message}`));
          socket.on("close", () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
  const from = Date.now();
  await Bun.sleep(job.stallMs);
  const to = Date.now();
  let open = 0;
  for (const socket of sockets) {
    if (!socket.destroyed) open++;
    else errors.add("stall client: the connection closed during the stall");
    socket.destroy();
  }
  return { count: open, errorCount: errors.count, errors: errors.first, wallMs: performance.now() - t0, ttftMs: [], totalMs: [], stall: { from, to } };
}

async function run(job: Job): Promise<JobResult> {
  const out = job.kind === "stream" ? await streamJob(job) : job.kind === "slow" ? await slowJob(job) : job.kind === "stall" ? await stallJob(job) : await disconnectJob(job);
  return { id: job.id, ...out };
}

if (import.meta.main) {
  for await (const line of console) {
    if (!line.trim()) continue;
    const job = JSON.parse(line) as Job;
    const result = await run(job).catch((e: Error): JobResult => ({ id: job.id, count: 0, errorCount: 1, errors: [`load generator: ${e.message}`], wallMs: 0, ttftMs: [], totalMs: [] }));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}
