import { describe, expect, test } from "bun:test";
import zlib from "node:zlib";
import { peek } from "../../src/resilience/peek.ts";
import { logValue } from "../../src/server/context.ts";
import { contentCoding, decodeBody } from "../../src/upstream/content-coding.ts";
import type { ByteSource } from "../../src/upstream/body-queue.ts";
import { UpstreamFailure } from "../../src/upstream/failure.ts";
import type { UpstreamResponse } from "../../src/upstream/transport.ts";
import { OpenLabel } from "../../src/usage/metrics-sink.ts";
import { draftRecord } from "../../src/usage/draft.ts";
import { redactor } from "../../src/usage/redact.ts";
import { scrubUpstreamFields } from "../../src/usage/upstream-fields.ts";

/** What an upstream may do that ccp did not ask for, and what ccp keeps of what it says. */
const body = (chunks: Uint8Array[]): ByteSource => {
  const s = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = chunks.shift();
      if (next) c.enqueue(next);
      else c.close();
    },
  });
  return s.getReader() as unknown as ByteSource;
};
const response = (status: number, headers: [string, string][], bytes: Uint8Array): UpstreamResponse => ({
  protocol: "h1",
  status,
  headers,
  body: body([bytes]),
});
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe("content codings ccp did not ask for", () => {
  test.each([
    [[], "identity"],
    [[["content-encoding", "identity"]], "identity"],
    [[["content-encoding", "GZIP"]], "gzip"],
    [[["content-encoding", "x-gzip"]], "gzip"],
    [[["content-encoding", "br"]], "br"],
    [[["content-encoding", "gzip, br"]], undefined], // stacked codings: not decoded
    [[["content-encoding", "compress"]], undefined],
  ] as [[string, string][], string | undefined][])("%j → %p", (headers, coding) => {
    expect(contentCoding(headers)).toBe(coding as never);
  });

  test("each coding decodes; a bomb is stopped at the bound; garbage is an Error", () => {
    const text = enc('{"type":"message"}');
    expect(dec(decodeBody("gzip", zlib.gzipSync(text), 1000) as Uint8Array)).toBe('{"type":"message"}');
    expect(dec(decodeBody("deflate", zlib.deflateSync(text), 1000) as Uint8Array)).toBe('{"type":"message"}');
    expect(dec(decodeBody("deflate", zlib.deflateRawSync(text), 1000) as Uint8Array)).toBe('{"type":"message"}');
    expect(dec(decodeBody("br", zlib.brotliCompressSync(text), 1000) as Uint8Array)).toBe('{"type":"message"}');
    expect(dec(decodeBody("zstd", zlib.zstdCompressSync(text), 1000) as Uint8Array)).toBe('{"type":"message"}');
    expect(decodeBody("gzip", zlib.gzipSync(new Uint8Array(10_000_000)), 64 * 1024)).toBeInstanceOf(Error);
    expect(decodeBody("gzip", enc("not gzip"), 1000)).toBeInstanceOf(Error);
  });

  test("peek: a gzip JSON answer and a gzip error answer are decoded (and lose their content-encoding); a gzip stream is a protocol failure", async () => {
    const json = await peek(
      response(
        200,
        [
          ["content-type", "application/json"],
          ["content-encoding", "gzip"],
        ],
        zlib.gzipSync(enc('{"type":"message","content":[]}')),
      ),
      "message",
    );
    expect(json.kind).toBe("commit");
    if (json.kind !== "commit") return;
    expect(dec(json.head[0]!)).toBe('{"type":"message","content":[]}');
    expect(json.response.headers.some(([k]) => k === "content-encoding")).toBe(false);
    const error = await peek(
      response(
        429,
        [
          ["content-type", "application/json"],
          ["content-encoding", "gzip"],
        ],
        zlib.gzipSync(enc('{"type":"error"}')),
      ),
    );
    expect(error.kind === "http_status" && dec(error.body)).toBe('{"type":"error"}');
    const stream = peek(
      response(
        200,
        [
          ["content-type", "text/event-stream"],
          ["content-encoding", "gzip"],
        ],
        zlib.gzipSync(enc("event: ping\n\n")),
      ),
    );
    expect(stream).rejects.toBeInstanceOf(UpstreamFailure);
    expect((await stream.catch((e: UpstreamFailure) => e)) as UpstreamFailure).toMatchObject({ failureClass: "protocol" });
    const unknown = await peek(
      response(
        200,
        [
          ["content-type", "application/json"],
          ["content-encoding", "compress"],
        ],
        enc("x"),
      ),
    ).catch((e: UpstreamFailure) => e);
    expect(unknown).toMatchObject({ failureClass: "protocol" });
  });
});

describe("what the upstream says, as ccp records it", () => {
  const KEY = "zai-key-0123456789abcdef";
  test("request id, error type, stop reason and codes: redacted, one line, bounded", () => {
    const r = draftRecord("ccp_x", "messages", "default", 8082);
    r.upstream_request_id = `req_${KEY}`;
    r.err_type = `bad\nkey ${KEY}`;
    r.stop_reason = "x".repeat(10_000);
    r.attempts = [{ lane: "zai", protocol: "h1", outcome: "in_stream_error", status: 200, ms: 1, wait_ms: 0, code: `sk-ant-api03-${"a".repeat(20)}` }];
    scrubUpstreamFields(r, redactor([KEY]));
    expect(r.upstream_request_id).toBe("req_[redacted]");
    expect(r.err_type).toBe("bad key [redacted]");
    expect(r.stop_reason!.length).toBe(128);
    expect(r.attempts[0]!.code).toBe("[redacted]");
  });

  test("metric labels from clients and upstreams: plain values up to the bound, then other", () => {
    const label = new OpenLabel(3);
    expect(["1302", "1302", "overloaded_error", "a b", "x".repeat(200), "1305", "1308", "1302"].map((v) => label.of(v))).toEqual([
      "1302",
      "1302",
      "overloaded_error",
      "other",
      "other",
      "1305",
      "other",
      "1302",
    ]);
  });

  test("log values: plain words bare, anything else quoted (no forged fields)", () => {
    expect(logValue("claude-sonnet-4-5@2025/x.y:z")).toBe("claude-sonnet-4-5@2025/x.y:z");
    expect(logValue("m status=200 lane=x")).toBe('"m status=200 lane=x"');
    expect(logValue(null)).toBe("-");
  });
});

describe("campaign finds, by their shape", () => {
  test("B5: a client that leaves on reading the upstream's error frame is recorded as that in-stream error, with its code", async () => {
    const { applyStreamEnd } = await import("../../src/usage/draft.ts");
    const { newObservation } = await import("../../src/sse/observer.ts");
    const r = draftRecord("ccp_x", "messages", "default", 8082);
    r.attempts = [{ lane: "zai", protocol: "h1", outcome: "ok", status: 200, ms: 1, wait_ms: 0, code: null }];
    const observation = newObservation();
    observation.error = { type: "rate_limit_error", message: "[1302] busy", raw: "{}" };
    applyStreamEnd(r, { observation, sse: true, failure: new UpstreamFailure("client_abort", "left"), code: "1302" });
    expect(r).toMatchObject({ failure_class: "in_stream_error", err_type: "rate_limit_error" });
    expect(r.attempts[0]).toMatchObject({ outcome: "in_stream_error", code: "1302" });
  });

  test("B3: a JSON message labelled text/plain answering stream: false is committed as application/json", async () => {
    const p = await peek(response(200, [["content-type", "text/plain"]], enc('{"type":"message","content":[]}')), "message");
    expect(p.kind === "commit" && p.response.headers.find(([k]) => k === "content-type")?.[1]).toBe("application/json");
  });
});
