import { describe, expect, test } from "bun:test";
import { newObservation } from "../../src/sse/observer.ts";
import { applyBody, applyCommit, applyEstimate, applyFirstContent, applyReplay, applyRoute, applySteered, applyUncommitted, draftRecord } from "../../src/usage/draft.ts";

/** The usage record as server/forward.ts's steps fill it, one apply* function per step. */
const draft = () => draftRecord("ccp_x", "messages", "default", 8082);

describe("before any attempt", () => {
  test("a replay, the body, the route that matched: null when there is none", () => {
    const r = draft();
    applyReplay(r, undefined);
    applyRoute(r, null);
    expect(r).toMatchObject({ replay_of: null, route: null, route_name: null, model: null, stream: false });
    applyReplay(r, "ccp_abc");
    applyBody(r, { model: "claude-sonnet-4-5", stream: true });
    applyRoute(r, { index: 2, name: null });
    expect(r).toMatchObject({ replay_of: "ccp_abc", model: "claude-sonnet-4-5", stream: true, route: 2, route_name: null });
    applyRoute(r, { index: 0, name: "subagents" });
    expect(r).toMatchObject({ route: 0, route_name: "subagents" });
  });

  test("the desk's steer goes on the record only when it moved the request off its routed lane", () => {
    const r = draft();
    applySteered(r, { reroutedFrom: null, reason: null });
    expect(r).toMatchObject({ rerouted_from: null, reroute_reason: null });
    applySteered(r, { reroutedFrom: "anthropic", reason: "quota_threshold" });
    expect(r).toMatchObject({ rerouted_from: "anthropic", reroute_reason: "quota_threshold" });
  });

  test("a token count ccp answered itself is an estimate", () => {
    const r = draft();
    expect(r.estimated).toBe(false);
    applyEstimate(r);
    expect(r.estimated).toBe(true);
  });
});

describe("the answer", () => {
  const headers = [["request-id", "req_1"] as const];

  test("nothing committed, the loop failed: its failure class and the answer's error type; a client that left is client_abort", () => {
    const r = draft();
    applyUncommitted(r, { kind: "failed", failure: { failureClass: "connect" } }, "api_error");
    expect(r).toMatchObject({ failure_class: "connect", err_type: "api_error", upstream_request_id: null });
    applyUncommitted(r, { kind: "failed", failure: { failureClass: "client_abort" } }, "api_error");
    expect(r).toMatchObject({ failure_class: "client_abort", err_type: "client_abort" });
  });

  test("nothing committed, the upstream answered an error status: http_status, its request id, no tokens", () => {
    const r = draft();
    applyUncommitted(r, { kind: "answer", peeked: { kind: "http_status", response: { headers } } }, "overloaded_error");
    expect(r).toMatchObject({ failure_class: "http_status", err_type: "overloaded_error", upstream_request_id: "req_1", input_tokens: null });
  });

  test("nothing committed, an in-stream error: what its frames said goes on the record, the answer's error type kept", () => {
    const r = draft();
    const observation = newObservation();
    observation.inputTokens = 12;
    observation.error = { type: "rate_limit_error", message: "[1302] busy", raw: "{}" };
    applyUncommitted(r, { kind: "answer", peeked: { kind: "in_stream_error", response: { headers: [] }, observation } }, "api_error");
    expect(r).toMatchObject({ failure_class: "in_stream_error", err_type: "api_error", input_tokens: 12, upstream_request_id: null });
  });

  test("the commit: request id and first byte; the time to first token is taken once, and asked for only then", () => {
    const r = draft();
    applyCommit(r, headers, 40);
    expect(r).toMatchObject({ upstream_request_id: "req_1", first_byte_ms: 40, ttft_ms: null });
    let asked = 0;
    const elapsed = () => {
      asked++;
      return 55 + asked;
    };
    applyFirstContent(r, elapsed);
    applyFirstContent(r, elapsed);
    expect(r.ttft_ms).toBe(56);
    expect(asked).toBe(1);
  });
});
