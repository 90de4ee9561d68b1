import type { Lane } from "../config/config.ts";
import { runAttempts, type LaneRequest } from "../resilience/attempt-loop.ts";
import { rewriteForLane } from "../rewrite/index.ts";
import { laneModel } from "../routing/router.ts";
import { guardStream } from "../sse/guard.ts";
import type { CaptureSession } from "../usage/capture-hook.ts";
import { applyObservation, draftRecord } from "../usage/draft.ts";
import type { UsageRecord } from "../usage/record.ts";
import { redactor } from "../usage/redact.ts";
import { answerUncommitted } from "./answers.ts";
import { readBodyBounded } from "./body-limit.ts";
import type { ServerContext } from "./context.ts";
import { estimateInputTokens } from "./count-tokens-local.ts";
import { errorResponse } from "./errors.ts";
import { downstreamHeaders, headerMode, upstreamHeaders } from "./forward-headers.ts";
import { type BodyCheck, leadingModel, parseMessagesBody } from "./request-body.ts";
import { cachedUpstreamUrl, type Endpoint } from "./upstream-url.ts";

export type { Endpoint };

const OP: Record<Endpoint, UsageRecord["op"]> = {
  "/v1/messages": "messages",
  "/v1/messages/count_tokens": "count_tokens",
  "/v1/models": "models",
};

const encoder = new TextEncoder();
/** Bodies this large or larger may be an early send: below it, checking first costs less than 0.03 ms. */
const EARLY_SEND_BYTES = 64 * 1024;

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
  let bytes: Uint8Array | undefined;
  /** The client's model; its route's lane and upstream model. */
  let model: string | undefined;
  let first: Lane;
  let routedModel: string | undefined;
  /** The model a body names first, read without parsing (leadingModel), when it does. */
  let lead: string | undefined;
  /** The body's check (parseMessagesBody), run once; an early send runs it while the body leaves. */
  let check: BodyCheck | undefined;
  let early = false;
  const checkBody = (): BodyCheck => {
    if (check) return check;
    check = parseMessagesBody(bytes!);
    // JSON parsers disagree on a repeated key (the last wins, the first, or an error): never route on a guess.
    if (check.ok && lead !== undefined && check.body.model !== lead) check = { ok: false, message: "model: the body names more than one model" };
    if (check.ok) rec.stream = check.body.stream;
    return check;
  };
  if (endpoint === "/v1/models") {
    const catchAll = ctx.config.routes.find((r) => r.match === "*") ?? ctx.config.routes[0]!;
    first = ctx.config.lanes[catchAll.lane]!;
  } else {
    // Bounded: never more than limits.max_body_mb held, never longer than limits.body_timeout_ms.
    const read = await readBodyBounded(req, ctx.config.limits);
    if (!read.ok) {
      if (read.status === 499) rec.failure_class = "client_abort";
      rec.err_type = read.errType;
      finish(read.status);
      return errorResponse(read.status === 499 ? 400 : read.status, read.message, rid, read.errType, read.close ? { connection: "close" } : {});
    }
    bytes = read.bytes;
    // A large body that names its model first, routed to a lane that takes it unchanged, is an
    // early send: it leaves at once and is checked while it does (its last byte waits for the verdict).
    lead = leadingModel(bytes);
    const leadRoute = lead !== undefined && endpoint === "/v1/messages" && bytes.byteLength >= EARLY_SEND_BYTES ? ctx.router(lead) : undefined;
    early = leadRoute !== undefined && leadRoute.lane.dialect === "anthropic" && leadRoute.upstreamModel === lead;
    model = lead;
    if (!early) {
      const c = checkBody();
      if (!c.ok) return reject(400, c.message);
      model = c.body.model;
    }
    rec.model = model!;
    const decision = early ? leadRoute : ctx.router(model!);
    if (!decision) return reject(400, `no route matches model "${model}"; add a [[routes]] entry with match = "*"`);
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
  const parsed = check?.ok ? check.body : undefined; // an early send's check has not run yet
  if (endpoint === "/v1/messages/count_tokens" && parsed && (first.count_tokens ?? (first.dialect === "anthropic" ? "upstream" : "local")) === "local") {
    rec.estimated = true;
    finish(200);
    return Response.json({ input_tokens: estimateInputTokens(parsed.json) }, { headers: { "x-ccp-rid": rid, "x-ccp-estimate": "true" } });
  }
  capture = ctx.capture?.begin(rid, req.headers, bytes);

  // What each lane is sent: built once per lane (a fallback lane has its own credentials and model map).
  const built = new Map<string, LaneRequest>();
  const modelFor = (lane: Lane) => (model === undefined ? undefined : lane.name === first.name ? routedModel! : laneModel(lane, model));
  const abort = new AbortController();
  // Refused: the attempt is aborted before the body's last byte leaves, and the client gets the 400.
  const bodyCheck = early ? () => checkBody().ok || (abort.abort(), false) : undefined;
  const build = (lane: Lane): LaneRequest => {
    let request = built.get(lane.name);
    if (!request) {
      const upstreamModel = modelFor(lane);
      // An early send's own lane never needs the parsed body; a fallback lane of another dialect may.
      const changes = upstreamModel !== undefined && (lane.dialect !== "anthropic" || upstreamModel !== model);
      const c = changes ? checkBody() : undefined;
      const rewritten = c?.ok ? rewriteForLane(c.body.json, lane, upstreamModel!) : undefined;
      request = {
        url: cachedUpstreamUrl(lane.base_url, endpoint, search),
        method: endpoint === "/v1/models" ? "GET" : "POST",
        headers: upstreamHeaders(req.headers, lane),
        body: rewritten ? encoder.encode(JSON.stringify(rewritten)) : bytes,
        ...(bodyCheck && !rewritten ? { bodyCheck } : {}),
      };
      built.set(lane.name, request);
    }
    return request;
  };

  const onClientGone = () => abort.abort();
  req.signal.addEventListener("abort", onClientGone, { once: true });
  ctx.shutdown.addEventListener("abort", onClientGone, { once: true });
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
  if (early) checkBody(); // run already, unless the upstream answered before the body's end
  if (check?.ok === false && result.kind !== "committed") {
    // Recorded as when the body is checked before it leaves: a client error, no attempt.
    req.signal.removeEventListener("abort", onClientGone);
    ctx.shutdown.removeEventListener("abort", onClientGone);
    return reject(400, check.message);
  }
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
    ctx.shutdown.removeEventListener("abort", onClientGone);
    if (result.kind === "answer") capture?.response(result.peeked.body);
    const answer = answerUncommitted(result, rid);
    rec.failure_class = result.kind === "failed" ? (abort.signal.aborted ? "client_abort" : result.failure.failureClass) : result.peeked.kind === "error_status" ? "http_status" : "in_stream_error";
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
    onChunk: capture ? (chunk) => capture?.response(chunk) : undefined,
    onFirstContent: () => {
      rec.ttft_ms ??= Math.round(ctx.now() - t0);
    },
    onEnd: (failure) => {
      release();
      req.signal.removeEventListener("abort", onClientGone);
      ctx.shutdown.removeEventListener("abort", onClientGone);
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
