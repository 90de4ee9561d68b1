import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { join } from "node:path";
import { claudeBody } from "../../scripts/bench/claude-body.ts";
import { ccpConfig, makeCert, startUpstream, stopAll, type Upstream } from "../../scripts/bench/processes.ts";
import { watchBodyQueues } from "../../scripts/bench/queue-watch.ts";
import { requestBody, shapeHeaders } from "../../scripts/bench/workload.ts";
import { startCcp, type CcpProcess } from "../support/ccp.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";
import { startInProcess, type InProcessCcp } from "../support/in-process.ts";
import { complete, rawJson, rawRequest, rssOf } from "../support/raw-http.ts";
import { toToml } from "../support/toml.ts";

/**
 * What a request body can make ccp spend in memory (SECURITY.md, promise 4), against the real
 * `ccp start` process with its default limits. Before limits.max_json_nodes (this file run
 * with CCP_TEST_BIN set to a build of 0954748), a 30 MiB body of tiny JSON objects took ccp
 * from 55 MB to a peak of 940 MB, and three at once took it 2.5 GB higher.
 */
const MIB = 1024 * 1024;
let upstream: FakeUpstream;
let ccp: CcpProcess;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  ccp = await startCcp({
    config: toToml({
      port: 0,
      persist: false,
      lanes: { anthropic: { base_url: `${upstream.url}/anthropic`, transport: "h2", ca_file: upstream.caFile } },
      routes: [{ match: "*", lane: "anthropic" }],
    }),
  });
});
afterAll(async () => {
  await ccp?.stop();
  await upstream?.close();
});

const post = (body: string | Uint8Array, url = ccp.url) =>
  fetch(`${url}/v1/messages`, { method: "POST", keepalive: false, headers: { "content-type": "application/json", "x-api-key": "sk-ant-api03-client" }, body });

/** ccp's highest RSS, sampled every 10 ms while `work` runs, above its RSS just before. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growthMb: number }> {
  const before = rssOf(ccp.pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(ccp.pid))), 10);
  try {
    const result = await work();
    return { result, growthMb: (Math.max(peak, rssOf(ccp.pid)) - before) / MIB };
  } finally {
    clearInterval(timer);
  }
}

/** The reported body: a valid Messages request whose `x` is 30 MiB of `{}`, about 10 million objects. */
const tinyObjects = () => `{"model":"m","messages":[],"x":[${"{},".repeat(Math.floor((30 * MIB - 40) / 3))}{}]}`;

async function refusedAsTooMany(res: Response) {
  expect(res.status).toBe(413);
  const e = (await res.json()) as { type: string; error: { type: string; message: string } };
  expect(e).toMatchObject({ type: "error", error: { type: "request_too_large" } });
  expect(e.error.message).toContain("limits.max_json_nodes");
}

async function stillServing() {
  const res = await post(JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 8, stream: true, messages: [{ role: "user", content: "hi" }] }));
  expect(res.status).toBe(200);
  expect(await res.text()).toContain("event: message_stop");
}

describe("a body of tiny JSON values cannot make ccp build them", () => {
  const body = tinyObjects();

  test("one 30 MiB body of {}: 413 request_too_large, and ccp's peak RSS grows by less than 300 MB", async () => {
    const { result, growthMb } = await peakGrowth(() => post(body));
    // Fixed: about 80 MB (the body's bytes, Bun's buffer). Unfixed: about 900.
    expect(growthMb).toBeLessThan(300);
    await refusedAsTooMany(result);
    await stillServing();
  });

  test("three at once: each 413, and ccp's peak RSS grows by less than 500 MB", async () => {
    const { result, growthMb } = await peakGrowth(() => Promise.all([post(body), post(body), post(body)]));
    // Fixed: about 60–150 MB. Unfixed: about 1.9 GB more, after the first test's 900.
    expect(growthMb).toBeLessThan(500);
    for (const res of result) await refusedAsTooMany(res);
    await stillServing();
  });
});

describe("the large bodies Claude Code sends still pass, whole", () => {
  test.each([
    ["four 5 MB base64 images and long tool results", { images: [5_000_000, 5_000_000, 5_000_000, 5_000_000] }],
    ["long tool results only (about 156 000 JSON values)", {}],
  ])("30 MiB: %s", async (_name, o) => {
    await upstream.reset();
    const body = Buffer.from(claudeBody(30 * MIB, o));
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("event: message_stop");
    const seen = (await upstream.requests()).filter((r) => r.path.includes("/v1/messages"));
    expect(seen.map((r) => r.bodyBytes)).toEqual([body.length]);
  });
});

describe("bodies being received at once share limits.max_inflight_body_mb (1 MiB here)", () => {
  let small: CcpProcess;
  beforeAll(async () => {
    small = await startCcp({
      config: toToml({
        port: 0,
        persist: false,
        limits: { max_inflight_body_mb: 1 },
        lanes: { anthropic: { base_url: `${upstream.url}/anthropic`, transport: "h2", ca_file: upstream.caFile } },
        routes: [{ match: "*", lane: "anthropic" }],
      }),
    });
  });
  afterAll(async () => {
    await small?.stop();
  });

  test("while one 800 KB upload is under way, a second gets 503 with retry-after, which clients retry; then it passes", async () => {
    const json = JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 8, stream: true, messages: [{ role: "user", content: "x".repeat(800 * 1024) }] });
    const head = `POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-api-key: k\r\ncontent-length: ${json.length}\r\nconnection: close\r\n\r\n`;
    // The first upload sends half its body, then waits: its whole declared length is held.
    let finishFirst = () => {};
    const first = rawRequest(
      small.port,
      (s: net.Socket) => {
        s.write(head + json.slice(0, json.length / 2));
        finishFirst = () => s.write(json.slice(json.length / 2));
      },
      { waitMs: 20_000, until: (t) => t.includes("event: message_stop") },
    );
    await Bun.sleep(300);
    const second = await rawRequest(small.port, head + json, { until: complete, waitMs: 20_000 });
    expect(second.status).toBe(503);
    expect(second.text).toMatch(/\r\nretry-after: 1\r\n/i);
    const e = rawJson(second) as { error: { type: string; message: string } };
    expect(e.error.type).toBe("api_error");
    expect(e.error.message).toContain("limits.max_inflight_body_mb");
    finishFirst();
    expect((await first).status).toBe(200);
    // Checked bodies give their share back: the same request now passes.
    const again = await post(json, small.url);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain("event: message_stop");
  });
});

describe("a client that stops reading: what ccp holds of its stream is bounded, and the upstream stops", () => {
  // The server in this process, so its body queues can be watched; the benchmark's upstream
  // (Node.js, an endless stream as fast as it is taken) in its own.
  let flood: Upstream;
  let server: InProcessCcp;
  const queues = watchBodyQueues();
  beforeAll(async () => {
    const dir = mkdtempSync(join(os.tmpdir(), "ccp-stall-test-"));
    const cert = makeCert(dir);
    flood = await startUpstream(dir, cert);
    server = startInProcess(ccpConfig(flood.url, cert.certFile, false));
  });
  afterAll(async () => {
    queues.restore();
    await server?.stop(100);
    await stopAll();
  });

  /** A raw client that reads the response until its first delta, then never again. */
  function stalledClient(model: string): Promise<net.Socket> {
    const body = requestBody(model, 4096);
    const headers = Object.entries(shapeHeaders({ deltas: 1_000_000, intervalMs: 0, deltaChars: 400 }))
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.port, "127.0.0.1");
      socket.on("error", reject);
      socket.write(`POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-api-key: k\r\n${headers}content-length: ${body.length}\r\n\r\n${body}`);
      socket.on("data", (chunk: Buffer) => {
        if (!chunk.includes("content_block_delta")) return;
        socket.pause();
        resolve(socket);
      });
    });
  }

  test.each([
    // h2: the stream's 128 KiB queue and the 128 KiB its window still allowed.
    ["h2", 256 * 1024],
    // h1: the 256 KiB queue and the socket read that crossed it (Bun reads at most 512 KiB at once).
    ["h1", 768 * 1024],
  ])("%s lane: at most %d bytes queued per stream", async (lane, bound) => {
    await flood.reset();
    queues.clear();
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => stalledClient(`bench-${lane}`)));
    await Bun.sleep(2_000);
    const sentAt2s = (await flood.stats()).sentBytes;
    await Bun.sleep(1_000);
    const { sentBytes } = await flood.stats();
    const open = queues.open();
    for (const c of clients) c.destroy();
    expect(open.length).toBe(5);
    for (const q of open) expect(q.max).toBeLessThanOrEqual(bound);
    // Held back: nothing more left the upstream in the last second, and what did is the kernel's socket buffers.
    expect(sentBytes - sentAt2s).toBeLessThan(64 * 1024);
    expect(sentBytes / 5).toBeLessThan(32 * 1024 * 1024);
  });
});
