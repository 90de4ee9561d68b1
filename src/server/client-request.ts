import type { Lane } from "../config/config.ts";
import type { LoopInput } from "../resilience/attempt-loop.ts";
import type { CaptureSession } from "../usage/capture-hook.ts";
import { attribution } from "../usage/attribution.ts";
import { draftRecord } from "../usage/draft.ts";
import { answeredOver } from "../usage/outcome.ts";
import type { UsageRecord } from "../usage/record.ts";
import { requestRedactor } from "../usage/redact.ts";
import { scrubUpstreamFields } from "../usage/upstream-fields.ts";
import { logValue, type ServerContext } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { headerMode } from "../upstream/forward-headers.ts";
import type { Endpoint } from "../upstream/upstream-url.ts";

const OP: Record<Endpoint, UsageRecord["op"]> = {
  "/v1/messages": "messages",
  "/v1/messages/count_tokens": "count_tokens",
  "/v1/models": "models",
};

/** Why a request is answered by ccp itself, before any attempt. */
export interface Refusal {
  readonly status: number;
  readonly message: string;
  readonly errType?: string | undefined;
  /** Recorded as this failure class (a client that left mid-body). */
  readonly failureClass?: UsageRecord["failure_class"] | undefined;
  readonly headers?: Record<string, string> | undefined;
}

/**
 * One client request from arrival to its usage line: the record being filled, the in-flight
 * count, and the one place the line is written and logged (once, whatever path ends it).
 */
export class ClientRequest {
  readonly rid: string;
  readonly record: UsageRecord;
  /** What the upstream says may quote a credential: ccp's own, or this request's (passthrough). */
  readonly redact: (text: string) => string;
  capture: CaptureSession | undefined;
  /** The transport a replay pinned on its first lane (`ccp replay --transport`). */
  pin: LoopInput["pin"];
  readonly #t0: number;
  #written = false;

  constructor(
    readonly ctx: ServerContext,
    readonly req: Request,
    endpoint: Endpoint,
    port: number,
    /** The client the access gate let in (undefined: this ccp asks for no key). */
    client?: string,
  ) {
    this.#t0 = ctx.now();
    this.rid = ctx.newRid();
    const origin = { instance: ctx.config.instance, client: client ?? null, ...attribution(req.headers, ctx.redact) };
    this.record = draftRecord(this.rid, OP[endpoint], ctx.config.profile, port, origin);
    this.redact = requestRedactor(ctx.redact, req.headers);
    ctx.live.inflight++;
  }

  /** Milliseconds since the request arrived. */
  elapsed(): number {
    return Math.round(this.ctx.now() - this.#t0);
  }

  /** The lane (and upstream model) the record names: the routed one, then the one that answered. */
  describe(lane: Lane, model: string | undefined): void {
    const r = this.record;
    r.lane = lane.name;
    r.upstream = lane.base_url;
    r.upstream_model = model ?? null;
    r.header_mode = headerMode(this.req.headers, lane);
  }

  /** Writes the usage line and its log line with the status the client got. Once. */
  finish(status: number): void {
    if (this.#written) return;
    this.#written = true;
    const { ctx, record: r } = this;
    ctx.live.inflight--;
    r.status = status;
    r.latency_ms = this.elapsed();
    scrubUpstreamFields(r, this.redact);
    ctx.sink.write(r);
    this.capture?.end(r);
    const fail = r.failure_class ? ` failure=${r.failure_class}` : "";
    const who = r.client === null ? "" : ` client=${r.client}`;
    ctx.log.info(`${this.rid} ${r.op}${who} model=${logValue(r.model)} lane=${r.lane ?? "-"} protocol=${answeredOver(r)} status=${status} ms=${r.latency_ms} attempts=${r.attempts.length}${fail}`);
  }

  /** Something failed that should not have: a 502 naming it (redacted), the line, and an error log line. */
  fail(e: unknown): Response {
    const why = this.redact((e as Error)?.message ?? String(e)).replace(/[\u0000-\u001f]+/g, " ");
    this.ctx.log.error(`${this.rid} ccp could not answer: ${why}`);
    if (this.#written) return errorResponse(502, `ccp could not pass the upstream's answer on: ${why}`, this.rid);
    return this.refuse({ status: 502, message: `ccp could not pass the upstream's answer on: ${why}`, failureClass: "protocol" });
  }

  /** ccp answers itself, with Anthropic's envelope, and the line says so. */
  refuse(why: Refusal): Response {
    const r = this.record;
    if (why.failureClass) r.failure_class = why.failureClass;
    r.err_type = why.errType ?? (why.status === 400 ? "invalid_request_error" : "api_error");
    // 499: the client left mid-body; it gets nothing, but the line says what happened.
    this.finish(why.failureClass === "client_abort" ? 499 : why.status);
    return errorResponse(why.status, why.message, this.rid, why.errType, why.headers);
  }
}
