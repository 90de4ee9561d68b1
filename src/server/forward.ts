import type { Lane } from "../config/config.ts";
import { runAttempts, type LaneRequest, type LoopResult } from "../resilience/attempt-loop.ts";
import { businessCode, isPlanLimit } from "../resilience/classify.ts";
import type { Chain } from "../quota/desk.ts";
import { reopensInS, walledMessage, type LaneWall } from "../quota/walled-answer.ts";
import type { Committed, Expected } from "../resilience/peek.ts";
import { rewriteForLane, type ThinkingOrigin } from "../rewrite/index.ts";
import { hasThinking } from "../rewrite/signed-thinking.ts";
import { laneModel } from "../routing/router.ts";
import { guardStream } from "../sse/guard.ts";
import { abortFailure, UpstreamFailure } from "../upstream/failure.ts";
import { applyAttempts, applyBody, applyCommit, applyEstimate, applyFirstContent, applyReplay, applyRoute, applySteered, applyStreamEnd, applyUncommitted } from "../usage/draft.ts";
import type { AttemptRecord } from "../usage/record.ts";
import { answerUncommitted } from "./answers.ts";
import { ClientRequest } from "./client-request.ts";
import type { ServerContext } from "./context.ts";
import { downstreamHeaders, upstreamHeaders } from "../upstream/forward-headers.ts";
import { readAndRoute, type Routed } from "./read-request.ts";
import { replayControl, type ReplayControl } from "./replay-control.ts";
import { cachedUpstreamUrl, type Endpoint } from "../upstream/upstream-url.ts";

export type { Endpoint };

type ReplayTransport = NonNullable<ReplayControl["transport"]>;

const encoder = new TextEncoder();
/** A failure's message may quote the upstream: it stays on its log line. */
const LINE_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/**
 * One client request. The functions of this file are declared in the order a request first
 * reaches them, and docs/ARCHITECTURE.md's request path names each, in that order
 * (test/unit/request-path.test.ts holds the two together). The usage record is filled by
 * usage/draft.ts's apply* functions.
 */
export async function forward(ctx: ServerContext, req: Request, endpoint: Endpoint, port: number, search: string, client?: string): Promise<Response> {
  const cr = new ClientRequest(ctx, req, endpoint, port, client);
  try {
    return await steps(cr, endpoint, search);
  } catch (e) {
    // Whatever went wrong, the request still gets its answer, its usage line and its log line.
    return cr.fail(e);
  }
}

/**
 * The request path, top to bottom: replay control, read and route, the desk's steer, the answers
 * ccp gives itself, a replay's pin, the attempt loop, then the committed stream or the answer
 * given when nothing was committed. A step that answers ends the request.
 */
async function steps(cr: ClientRequest, endpoint: Endpoint, search: string): Promise<Response> {
  const { ctx, req } = cr;
  const replay = replayControl(req.headers, ctx.replayKey, ctx.config);
  if (!replay.ok) return cr.refuse({ status: replay.status, message: replay.message, errType: replay.status === 403 ? "permission_error" : undefined });
  applyReplay(cr.record, replay.control?.replayOf);
  const routed = await readAndRoute(ctx, req, endpoint, replay.control?.lane);
  if (!routed.ok) {
    if (routed.parsed) applyBody(cr.record, routed.parsed);
    return cr.refuse(routed);
  }
  if (routed.parsed) applyBody(cr.record, routed.parsed);
  applyRoute(cr.record, routed.route);
  cr.describe(routed.lane, routed.model);
  const steered = ctx.quota.steer(routed.chain, req.headers);
  if (steered.kind === "walled") return answerWalled(cr, steered.walls);
  const first = ctx.config.lanes[steered.lane]!;
  applySteered(cr.record, steered);
  if (steered.reroutedFrom) cr.describe(first, modelFor(routed, first));
  const own = answerOwn(cr, routed, first, endpoint);
  if (own) return own;
  const pinRefused = pinTransport(cr, replay.control?.transport, first);
  if (pinRefused) return pinRefused;
  cr.capture = ctx.capture?.begin(cr.rid, req.headers, routed.bytes);
  const expects: Expected = endpoint === "/v1/models" ? "models" : endpoint === "/v1/messages/count_tokens" ? "count" : routed.parsed?.stream ? "stream" : "message";
  const { result, signal, stopListening } = await tryWithThinking(cr, routed, first, expects, (origin) => laneRequests(routed, req, endpoint, search, origin));
  const answering = result.runtime.lane;
  cr.describe(answering, modelFor(routed, answering));
  applyAttempts(cr.record, result);
  if (result.kind === "committed") {
    return streamAnswer(cr, result.peeked, () => {
      result.release();
      stopListening();
    });
  }
  stopListening();
  if (result.kind === "answer" && result.verdict.quota && !passedOnAsItCame(result, routed.chain)) {
    const now = ctx.quota.steer(routed.chain, req.headers);
    if (now.kind === "walled") return answerWalled(cr, now.walls);
  }
  return answerNow(cr, result, signal);
}

/** Every lane of the route is at its plan's limit: one 429 saying when each reopens, not to be retried. */
function answerWalled(cr: ClientRequest, walls: readonly LaneWall[]): Response {
  const now = cr.ctx.quota.clock();
  const retryAfter = reopensInS(walls, now);
  return cr.refuse({
    status: 429,
    message: walledMessage(cr.record.model ?? undefined, walls, now),
    errType: "rate_limit_error",
    failureClass: "quota_wall",
    headers: { "x-should-retry": "false", ...(retryAfter !== undefined ? { "retry-after": String(retryAfter) } : {}) },
  });
}

/** The model name a lane is sent: the route's for the routed lane, the lane's own map for a fallback. */
function modelFor(routed: Routed, lane: Lane): string | undefined {
  if (!routed.parsed) return undefined;
  return lane.name === routed.lane.name ? routed.model : laneModel(lane, routed.parsed.model);
}

/** Answers ccp gives without an upstream: a lane that cannot be used, a local token count. */
function answerOwn(cr: ClientRequest, routed: Routed, lane: Lane, endpoint: Endpoint): Response | undefined {
  const { parsed } = routed;
  if (lane.auth === "key" && lane.key === undefined) {
    // A configuration mistake: retrying cannot help, so the client is told not to (x-should-retry).
    return cr.refuse({
      status: 500,
      message: `lane "${lane.name}" needs a key: set the environment variable ${lane.key_env} and restart ccp`,
      headers: { "x-should-retry": "false" },
    });
  }
  const counting = lane.count_tokens ?? (lane.dialect === "anthropic" ? "upstream" : "local");
  if (endpoint !== "/v1/messages/count_tokens" || !parsed || counting !== "local") return undefined;
  applyEstimate(cr.record);
  cr.finish(200);
  return Response.json({ input_tokens: parsed.inputTokens() }, { headers: { "x-ccp-rid": cr.rid, "x-ccp-estimate": "true" } });
}

/**
 * A replay's `--transport` pins the protocol on its first lane, for this request alone; h2 or
 * auto on a lane whose base_url is http:// is refused (400): it speaks HTTP/1.1 only.
 */
function pinTransport(cr: ClientRequest, transport: ReplayTransport | undefined, first: Lane): Response | undefined {
  if (transport !== undefined && transport !== "h1" && !first.base_url.startsWith("https:")) {
    return cr.refuse({ status: 400, message: `ccp: lane "${first.name}" has an http:// base_url: it speaks HTTP/1.1 only (--transport h1)` });
  }
  cr.pin = transport === undefined ? undefined : { lane: first.name, transport };
  return undefined;
}

/** Anthropic's refusal of a thinking block it did not sign. */
const FOREIGN_SIGNATURE = /invalid `?signature`? in `?(redacted_)?thinking`? block/i;

/**
 * The attempt loop; then, when an Anthropic lane refused a thinking block's signature that ccp
 * could not place (signed by another provider before this ccp saw it), once more without any
 * thinking block: the conversation goes on rather than end on a 400 the user cannot fix.
 */
async function tryWithThinking(cr: ClientRequest, routed: Routed, first: Lane, expects: Expected, build: (origin: ThinkingOrigin) => (lane: Lane) => LaneRequest): Promise<Tried> {
  const tried = await tryLanes(cr, build({ signers: cr.ctx.signers }), first, routed.chain, expects);
  const { result } = tried;
  if (result.kind !== "answer" || result.peeked.kind !== "http_status" || result.peeked.response.status !== 400 || result.runtime.lane.dialect !== "anthropic") return tried;
  if (!routed.parsed || !hasThinking(routed.parsed.json) || !FOREIGN_SIGNATURE.test(new TextDecoder().decode(result.peeked.body)) || cr.req.signal.aborted) return tried;
  tried.stopListening();
  cr.ctx.log.warn(`${cr.rid} lane ${result.runtime.lane.name} refused a thinking block's signature (another provider's): sent again without thinking blocks`);
  const again = await tryLanes(cr, build({ dropAll: true }), result.runtime.lane, routed.chain, expects);
  return { ...again, result: { ...again.result, attempts: [...result.attempts, ...again.result.attempts] } };
}

/** What each lane is sent, built once per lane (a fallback lane has its own credentials and model map). */
function laneRequests(routed: Routed, req: Request, endpoint: Endpoint, search: string, origin: ThinkingOrigin): (lane: Lane) => LaneRequest {
  const built = new Map<string, LaneRequest>();
  return (lane) => {
    let request = built.get(lane.name);
    if (!request) {
      const model = modelFor(routed, lane);
      const rewritten = routed.parsed && model !== undefined ? rewriteForLane(routed.parsed.json, lane, model, origin) : undefined;
      request = {
        url: cachedUpstreamUrl(lane.base_url, endpoint, search),
        method: endpoint === "/v1/models" ? "GET" : "POST",
        headers: upstreamHeaders(req.headers, lane),
        body: rewritten ? encoder.encode(JSON.stringify(rewritten)) : routed.bytes,
      };
      built.set(lane.name, request);
    }
    return request;
  };
}

interface Tried {
  readonly result: LoopResult;
  /** Aborted when the client left or ccp stopped; its reason says which. */
  readonly signal: AbortSignal;
  /** The request no longer needs to hear of either (its answer is over, or was never committed). */
  readonly stopListening: () => void;
}

/** The attempt loop, cut short when the client leaves or ccp stops. */
async function tryLanes(cr: ClientRequest, build: (lane: Lane) => LaneRequest, first: Lane, chain: Chain, expects: Expected): Promise<Tried> {
  const { ctx, req } = cr;
  const abort = new AbortController();
  const onClientGone = () => abort.abort();
  const onShutdown = () => abort.abort(new UpstreamFailure("shutdown", "ccp is stopping and its grace period for in-flight requests is over"));
  req.signal.addEventListener("abort", onClientGone, { once: true });
  ctx.shutdown.addEventListener("abort", onShutdown, { once: true });
  const stopListening = () => {
    req.signal.removeEventListener("abort", onClientGone);
    ctx.shutdown.removeEventListener("abort", onShutdown);
  };
  const result = await runAttempts({
    first: ctx.lanes.get(first.name)!,
    lanes: ctx.lanes,
    fallback: ctx.config.fallback,
    build,
    expects,
    signal: abort.signal,
    pin: cr.pin,
    now: ctx.now,
    onFailure: (a, n, f) => warnAttempt(cr, a, n, `after ${a.ms} ms`, f.message),
    onAnswer: (lane, status, headers, body) => ctx.quota.observe(lane, ctx.quota.credential(lane, req.headers), status, headers, body),
    reroute:
      chain.lanes.length > 1
        ? (tried) => {
            const s = ctx.quota.steer(chain, req.headers, tried);
            return s.kind === "lane" ? ctx.lanes.get(s.lane) : undefined;
          }
        : undefined,
  });
  return { result, signal: abort.signal, stopListening };
}

/** Why an attempt failed, which the usage line (a failure class) does not say: for the operator. */
function warnAttempt(cr: ClientRequest, a: AttemptRecord, n: number, when: string, message: string): void {
  if (a.outcome === "client_abort") return;
  cr.ctx.log.warn(`${cr.rid} attempt ${n} lane=${a.lane} protocol=${a.protocol} ${a.outcome} ${when}: ${cr.redact(message).replace(LINE_BREAKING, " ")}`);
}

/** The committed answer, streamed through the guard; its end completes the record. `done` frees the lane slot and listeners. */
function streamAnswer(cr: ClientRequest, peeked: Committed, done: () => void): Response {
  const { ctx, record: rec } = cr;
  const { response, observation } = peeked;
  applyCommit(rec, response.headers, cr.elapsed());
  const capture = cr.capture;
  const stream = guardStream(peeked, cr.rid, {
    hide: ctx.secrets,
    onChunk: capture ? (chunk) => capture.response(chunk) : undefined,
    onFirstContent: () => applyFirstContent(rec, () => cr.elapsed()),
    onEnd: (failure) => {
      done();
      if (observation.signatures.length > 0 && rec.upstream) ctx.signers.record(rec.upstream, observation.signatures);
      const error = observation.error;
      applyStreamEnd(rec, { observation, sse: peeked.sse, failure, code: error ? (businessCode(error.raw) ?? error.type) : null });
      // A failure after commit is an attempt's failure too: its own warning line, as before commit.
      const last = rec.attempts.at(-1);
      if (last && last.outcome !== "ok") {
        const why = failure?.message ?? (error ? `${error.type}: ${error.message}` : "the upstream ended the stream without message_stop");
        warnAttempt(cr, last, rec.attempts.length, "after commit", why);
      }
      cr.finish(response.status);
    },
  });
  try {
    const headers = downstreamHeaders(response.headers, ctx.secrets);
    headers.set("x-ccp-rid", cr.rid);
    return new Response(stream, { status: response.status, headers });
  } catch (e) {
    done();
    void peeked.reader.cancel().catch(() => {});
    throw e;
  }
}

/**
 * A subscription's plan limit on a one-lane route goes to Claude Code as it came: its unified
 * headers are what Claude Code reads to say when the limit resets. Any other quota wall gets
 * ccp's own answer, naming every lane of the chain.
 */
function passedOnAsItCame(result: Extract<LoopResult, { kind: "answer" }>, chain: Chain): boolean {
  return chain.lanes.length === 1 && result.peeked.kind === "http_status" && isPlanLimit(result.peeked.response.status, result.peeked.response.headers);
}

/** Nothing was committed: ccp's answer (an error it shapes, or the upstream's error as it came). */
function answerNow(cr: ClientRequest, result: Exclude<LoopResult, { kind: "committed" }>, signal: AbortSignal): Response {
  if (result.kind === "answer") cr.capture?.response(result.peeked.body);
  // An aborted request failed because of the abort, whatever the transport saw as it was cut.
  const unanswered = result.kind === "failed" && signal.aborted ? { ...result, failure: abortFailure(signal, "the client went away") } : result;
  const answer = answerUncommitted(unanswered, cr.rid, cr.ctx.secrets);
  applyUncommitted(cr.record, unanswered, answer.errType);
  cr.finish(cr.record.failure_class === "client_abort" ? 499 : answer.status);
  return answer.response;
}
