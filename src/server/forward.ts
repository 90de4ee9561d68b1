import type { Lane } from "../config/config.ts";
import { runAttempts, type LoopResult } from "../resilience/attempt-loop.ts";
import { guardStream } from "../sse/guard.ts";
import { newObservation, observeJsonBody } from "../sse/observer.ts";
import type { FailureClass } from "../upstream/failure.ts";
import { applyObservation, draftRecord } from "../usage/draft.ts";
import type { CaptureSession } from "../usage/capture-hook.ts";
import type { UsageRecord } from "../usage/record.ts";
import type { ServerContext } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { downstreamHeaders, headerMode, upstreamHeaders } from "./forward-headers.ts";
import { parseMessagesBody } from "./request-body.ts";
import { upstreamUrl } from "./upstream-url.ts";

export type Endpoint = "/v1/messages" | "/v1/messages/count_tokens" | "/v1/models";

const OP: Record<Endpoint, UsageRecord["op"]> = {
  "/v1/messages": "messages",
  "/v1/messages/count_tokens": "count_tokens",
  "/v1/models": "models",
};

/** A failure with no upstream answer becomes a gateway error the client can act on. */
const STATUS_BY_FAILURE: Partial<Record<FailureClass, number>> = { headers_timeout: 504, idle_timeout: 504, client_abort: 499 };

/** One client request through route, rewrite and the attempt loop, to one committed response. */
export async function forward(ctx: ServerContext, req: Request, endpoint: Endpoint, port: number): Promise<Response> {
  const t0 = ctx.now();
  const rid = ctx.newRid();
  const rec = draftRecord(rid, OP[endpoint], ctx.config.profile, port);
  let written = false;
  let capture: CaptureSession | undefined;
  ctx.live.inflight++;
  const finish = (status: number) => {
    if (written) return;
    written = true;
    ctx.live.inflight--;
    rec.status = status;
    rec.latency_ms = Math.round(ctx.now() - t0);
    ctx.sink.write(rec);
    capture?.end(rec);
    const fail = rec.failure_class ? ` failure=${rec.failure_class}` : "";
    ctx.log.info(`${rid} ${rec.op} model=${rec.model ?? "-"} lane=${rec.lane ?? "-"} proto=${rec.h2 === null ? "-" : rec.h2 ? "h2" : "h1"} status=${status} ms=${rec.latency_ms} attempts=${rec.attempts.length}${fail}`);
  };
  const reject = (status: number, message: string) => {
    rec.err_type = status === 400 ? "invalid_request_error" : "api_error";
    finish(status);
    return errorResponse(status, message, rid);
  };

  let lane: Lane;
  let body: Uint8Array | undefined;
  let upstreamModel: string | undefined;
  if (endpoint === "/v1/models") {
    const fallbackRoute = ctx.config.routes.find((r) => r.match === "*") ?? ctx.config.routes[0]!;
    lane = ctx.config.lanes[fallbackRoute.lane]!;
  } else {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await req.arrayBuffer());
    } catch {
      rec.failure_class = "client_abort";
      finish(499);
      return errorResponse(400, "the request body could not be read", rid);
    }
    const check = parseMessagesBody(bytes);
    if (!check.ok) return reject(400, check.message);
    rec.model = check.body.model;
    rec.stream = check.body.stream;
    const decision = ctx.router(check.body.model);
    if (!decision) return reject(400, `no route matches model "${check.body.model}"; add a [[routes]] entry with match = "*"`);
    lane = decision.lane;
    upstreamModel = decision.upstreamModel;
    body = upstreamModel === check.body.model ? bytes : new TextEncoder().encode(JSON.stringify({ ...check.body.json, model: upstreamModel }));
  }
  capture = ctx.capture?.begin(rid, req.headers, body);

  const transport = ctx.transports.get(lane.name)!;
  rec.lane = lane.name;
  rec.upstream = lane.base_url;
  rec.upstream_model = upstreamModel ?? null;
  rec.h2 = transport.protocol === "h2";
  rec.header_mode = headerMode(req.headers, lane);
  if (lane.auth === "key" && lane.key === undefined) {
    return reject(500, `lane "${lane.name}" needs a key: set the environment variable ${lane.key_env} and restart ccp`);
  }

  const abort = new AbortController();
  const onClientGone = () => abort.abort();
  req.signal.addEventListener("abort", onClientGone, { once: true });
  const result: LoopResult = await runAttempts(
    {
      lane,
      transport,
      request: {
        url: upstreamUrl(lane.base_url, endpoint, new URL(req.url).search),
        method: endpoint === "/v1/models" ? "GET" : "POST",
        headers: upstreamHeaders(req.headers, lane),
        body,
        timeouts: lane.timeouts,
      },
    },
    abort.signal,
    ctx.now,
  );
  rec.attempts = result.attempts;

  if (result.kind === "failed") {
    req.signal.removeEventListener("abort", onClientGone);
    const f = result.failure;
    rec.failure_class = abort.signal.aborted ? "client_abort" : f.failureClass;
    const status = STATUS_BY_FAILURE[rec.failure_class] ?? 502;
    rec.err_type = status === 504 ? "timeout_error" : "api_error";
    finish(status);
    return errorResponse(status === 499 ? 502 : status, `ccp: lane "${lane.name}" (${transport.protocol}): ${rec.failure_class}: ${f.message}`, rid);
  }

  const { response } = result.peeked;
  rec.upstream_request_id = response.headers.find(([k]) => k === "request-id")?.[1] ?? null;
  if (result.kind === "answer") {
    req.signal.removeEventListener("abort", onClientGone);
    const observation = "observation" in result.peeked ? result.peeked.observation : newObservation();
    capture?.response(result.peeked.body);
    if (result.peeked.kind === "error_status") observeJsonBody(observation, new TextDecoder().decode(result.peeked.body));
    applyObservation(rec, observation);
    rec.failure_class = result.peeked.kind === "error_status" ? "http_status" : "in_stream_error";
    if (result.peeked.kind === "error_status") {
      finish(response.status);
      const headers = downstreamHeaders(response.headers);
      headers.set("x-ccp-rid", rid);
      return new Response(result.peeked.body, { status: response.status, headers });
    }
    // 200 followed by `event: error` before any message: answer with a real HTTP error instead,
    // which Claude Code knows how to retry (PROTOCOL.md); overload and rate limits become 529.
    const type = observation.error?.type ?? "api_error";
    const status = type === "overloaded_error" || type === "rate_limit_error" ? 529 : 500;
    finish(status);
    return errorResponse(status, `upstream error before the stream started: ${observation.error?.message ?? "unknown"}`, rid);
  }

  const peeked = result.peeked;
  rec.first_byte_ms = Math.round(ctx.now() - t0);
  const stream = guardStream(peeked, rid, {
    onChunk: capture ? (chunk) => capture?.response(chunk) : undefined,
    onFirstContent: () => {
      rec.ttft_ms ??= Math.round(ctx.now() - t0);
    },
    onEnd: (failure) => {
      req.signal.removeEventListener("abort", onClientGone);
      applyObservation(rec, peeked.observation);
      if (failure) {
        rec.failure_class = failure.failureClass;
        rec.err_type ??= failure.failureClass === "client_abort" ? "client_abort" : "stream_error";
      }
      finish(response.status);
    },
  });
  const headers = downstreamHeaders(response.headers);
  headers.set("x-ccp-rid", rid);
  return new Response(stream, { status: response.status, headers });
}
