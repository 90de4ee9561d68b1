import type { Lane } from "../config/config.ts";
import { runAttempts, type LaneRequest } from "../resilience/attempt-loop.ts";
import { businessCode } from "../resilience/classify.ts";
import { rewriteForLane } from "../rewrite/index.ts";
import { laneModel } from "../routing/router.ts";
import { guardStream } from "../sse/guard.ts";
import type { CaptureSession } from "../usage/capture-hook.ts";
import { abortFailure, UpstreamFailure } from "../upstream/failure.ts";
import { applyObservation, draftRecord } from "../usage/draft.ts";
import type { UsageRecord } from "../usage/record.ts";
import { redactor } from "../usage/redact.ts";
import { answerUncommitted } from "./answers.ts";
import type { ServerContext } from "./context.ts";
import { estimateInputTokens } from "./count-tokens-local.ts";
import { errorResponse } from "./errors.ts";
import { downstreamHeaders, headerMode, upstreamHeaders } from "./forward-headers.ts";
import { readMessagesBody } from "./read-messages-body.ts";
import type { ParsedBody } from "./request-body.ts";
import { cachedUpstreamUrl, type Endpoint } from "./upstream-url.ts";

export type { Endpoint };

const OP: Record<Endpoint, UsageRecord["op"]> = {
  "/v1/messages": "messages",
  "/v1/messages/count_tokens": "count_tokens",
  "/v1/models": "models",
};

const encoder = new TextEncoder();

/** One client request: route, rewrite, the attempt loop, and one committed response. */
export async function forward(ctx: ServerContext, req: Request, endpoint: Endpoint, port: number, search: string): Promise<Response> {
  const t0 = ctx.now();
  const rid = ctx.newRid();
  const rec = draftRecord(rid, OP[endpoint], ctx.config.profile, port);
  let capture: CaptureSession | undefined;
  let written = false;
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
    const proto = rec.h2 === null ? "-" : rec.h2 ? "h2" : "h1";
    ctx.log.info(`${rid} ${rec.op} model=${rec.model ?? "-"} lane=${rec.lane ?? "-"} proto=${proto} status=${status} ms=${rec.latency_ms} attempts=${rec.attempts.length}${fail}`);
  };
  const reject = (status: number, message: string) => {
    rec.err_type = status === 400 ? "invalid_request_error" : "api_error";
    finish(status);
    return errorResponse(status, message, rid);
  };

  // Read and route.
  let parsed: ParsedBody | undefined;
  let bytes: Uint8Array | undefined;
  let first: Lane;
  let routedModel: string | undefined;
  if (endpoint === "/v1/models") {
    const catchAll = ctx.config.routes.find((r) => r.match === "*") ?? ctx.config.routes[0]!;
    first = ctx.config.lanes[catchAll.lane]!;
  } else {
    // Bounded in bytes, time, JSON values and bodies in flight (read-messages-body.ts).
    const read = await readMessagesBody(req, ctx);
    if (!read.ok) {
      if (read.status === 499) rec.failure_class = "client_abort";
      rec.err_type = read.errType;
      finish(read.status);
      return errorResponse(read.status === 499 ? 400 : read.status, read.message, rid, read.errType, read.headers);
    }
    bytes = read.bytes;
    parsed = read.body;
    rec.model = parsed.model;
    rec.stream = parsed.stream;
    const decision = ctx.router(parsed.model);
    if (!decision) return reject(400, `no route matches model "${parsed.model}"; add a [[routes]] entry with match = "*"`);
    first = decision.lane;
    routedModel = decision.upstreamModel;
  }
  const describe = (lane: Lane, model: string | undefined) => {
    rec.lane = lane.name;
    rec.upstream = lane.base_url;
    rec.upstream_model = model ?? null;
    rec.header_mode = headerMode(req.headers, lane);
  };
  describe(first, routedModel);
  if (first.auth === "key" && first.key === undefined) {
    return reject(500, `lane "${first.name}" needs a key: set the environment variable ${first.key_env} and restart ccp`);
  }
  if (endpoint === "/v1/messages/count_tokens" && parsed && (first.count_tokens ?? (first.dialect === "anthropic" ? "upstream" : "local")) === "local") {
    rec.estimated = true;
    finish(200);
    return Response.json({ input_tokens: estimateInputTokens(parsed.json) }, { headers: { "x-ccp-rid": rid, "x-ccp-estimate": "true" } });
  }
  capture = ctx.capture?.begin(rid, req.headers, bytes);

  // What each lane is sent: built once per lane (a fallback lane has its own credentials and model map).
  const built = new Map<string, LaneRequest>();
  const modelFor = (lane: Lane) => (parsed ? (lane.name === first.name ? routedModel! : laneModel(lane, parsed.model)) : undefined);
  const build = (lane: Lane): LaneRequest => {
    let request = built.get(lane.name);
    if (!request) {
      const model = modelFor(lane);
      const rewritten = parsed && model !== undefined ? rewriteForLane(parsed.json, lane, model) : undefined;
      request = {
        url: cachedUpstreamUrl(lane.base_url, endpoint, search),
        method: endpoint === "/v1/models" ? "GET" : "POST",
        headers: upstreamHeaders(req.headers, lane),
        body: rewritten ? encoder.encode(JSON.stringify(rewritten)) : bytes,
      };
      built.set(lane.name, request);
    }
    return request;
  };

  // The abort's reason says why: the client left, or ccp is stopping (its grace period is over).
  const abort = new AbortController();
  const onClientGone = () => abort.abort();
  const onShutdown = () => abort.abort(new UpstreamFailure("shutdown", "ccp is stopping and its grace period for in-flight requests is over"));
  req.signal.addEventListener("abort", onClientGone, { once: true });
  ctx.shutdown.addEventListener("abort", onShutdown, { once: true });
  const result = await runAttempts({
    first: ctx.lanes.get(first.name)!,
    lanes: ctx.lanes,
    fallback: ctx.config.fallback,
    build,
    signal: abort.signal,
    now: ctx.now,
    // Why an attempt failed, which the usage line (a failure class) does not say: for the operator.
    onFailure: (a, n, f) => {
      if (a.outcome === "client_abort") return;
      const redact = redactor([ctx.config.lanes[a.lane]?.key, ctx.config.access.key]);
      ctx.log.warn(`${rid} attempt ${n} lane=${a.lane} proto=${a.protocol} ${a.outcome} after ${a.ms} ms: ${redact(f.message)}`);
    },
  });
  const finalLane = result.runtime.lane;
  describe(finalLane, modelFor(finalLane));
  rec.attempts = result.attempts;
  rec.retries = Math.max(0, result.attempts.length - 1);
  rec.fallback_from = result.fallbackFrom ?? null;
  rec.downgraded = result.downgraded;
  rec.queue_ms = Math.round(result.queueMs);
  const last = result.attempts.at(-1);
  rec.h2 = last ? last.protocol === "h2" : null;

  if (result.kind !== "committed") {
    req.signal.removeEventListener("abort", onClientGone);
    ctx.shutdown.removeEventListener("abort", onShutdown);
    if (result.kind === "answer") capture?.response(result.peeked.body);
    // An aborted request failed because of the abort, whatever the transport saw as it was cut.
    const unanswered = result.kind === "failed" && abort.signal.aborted ? { ...result, failure: abortFailure(abort.signal, "the client went away") } : result;
    const answer = answerUncommitted(unanswered, rid, ctx.secrets);
    rec.failure_class = unanswered.kind === "failed" ? unanswered.failure.failureClass : unanswered.peeked.kind === "error_status" ? "http_status" : "in_stream_error";
    rec.err_type = rec.failure_class === "client_abort" ? "client_abort" : answer.errType;
    if (result.kind === "answer" && result.peeked.kind === "in_stream_error") applyObservation(rec, result.peeked.observation);
    rec.upstream_request_id = result.kind === "answer" ? (result.peeked.response.headers.find(([k]) => k === "request-id")?.[1] ?? null) : null;
    finish(rec.failure_class === "client_abort" ? 499 : answer.status);
    return answer.response;
  }

  const { peeked, release } = result;
  const { response } = peeked;
  rec.upstream_request_id = response.headers.find(([k]) => k === "request-id")?.[1] ?? null;
  rec.first_byte_ms = Math.round(ctx.now() - t0);
  const stream = guardStream(peeked, rid, {
    hide: ctx.secrets?.bytes,
    onChunk: capture ? (chunk) => capture?.response(chunk) : undefined,
    onFirstContent: () => {
      rec.ttft_ms ??= Math.round(ctx.now() - t0);
    },
    onEnd: (failure) => {
      release();
      req.signal.removeEventListener("abort", onClientGone);
      ctx.shutdown.removeEventListener("abort", onShutdown);
      applyObservation(rec, peeked.observation);
      const upstreamError = peeked.observation.error;
      if (upstreamError && !failure) {
        // The upstream answered and then sent an error (after commit): recorded as the in-stream
        // error it is, with the provider's code on the attempt, as one before commit would be.
        rec.failure_class = "in_stream_error";
        const last = rec.attempts.at(-1);
        if (last) rec.attempts = [...rec.attempts.slice(0, -1), { ...last, code: businessCode(upstreamError.raw) ?? upstreamError.type }];
      } else if (!failure && peeked.sse && !peeked.observation.messageStop) {
        // The upstream ended the stream early and cleanly; the guard closed it for the client,
        // who sees a well-formed end. The record says the answer was cut short.
        rec.failure_class = "protocol";
      }
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
