import { describe, expect, test } from "bun:test";
import { businessCode, classifyFailure, classifyInStreamError, classifyStatus } from "../../src/resilience/classify.ts";
import { FAILURE_CLASSES } from "../../src/upstream/failure.ts";

test("business codes from JSON fields and from message text", () => {
  expect(businessCode('{"error":{"code":"1302","message":"x"}}')).toBe("1302");
  expect(businessCode('{"code": 1113}')).toBe("1113");
  expect(businessCode("[1305][overloaded] try later")).toBe("1305");
  expect(businessCode("no code here [12]")).toBeUndefined();
});

describe("status answers", () => {
  test.each([
    [429, '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}', true, true],
    [529, '{"type":"error","error":{"type":"overloaded_error","message":"busy"}}', true, true],
    [500, "{}", true, false],
    [502, "", true, false],
    [503, "", true, true],
    [504, "", true, false],
    [400, '{"type":"error","error":{"type":"invalid_request_error"}}', false, false],
    [401, "", false, false],
    [403, "", false, false],
    [404, "", false, false],
    [413, "", false, false],
    [429, '{"error":{"code":"1113","message":"Insufficient balance"}}', false, false],
    [429, '{"error":{"code":"1308","message":"Usage limit reached, resets at 12:00"}}', false, false],
    [429, '{"error":{"message":"[1304] daily limit"}}', false, false],
    [429, '{"error":{"code":"1302","message":"High concurrency"}}', true, true],
    [402, '{"type":"error","error":{"type":"billing_error"}}', false, false],
  ])("%i %s → retryable %p, overload %p", (status, body, retryable, overload) => {
    expect(classifyStatus(status, body)).toMatchObject({ retryable, overload });
  });
});

describe("in-stream errors before message_start", () => {
  test("Z.ai burst codes are retryable overloads, in a code field or only in the message", () => {
    expect(classifyInStreamError("rate_limit_error", "[1302] High concurrency", '{"type":"error","error":{"type":"rate_limit_error"}}')).toMatchObject({
      retryable: true,
      overload: true,
      code: "1302",
    });
    expect(classifyInStreamError("error", "High frequency", '{"error":{"code":"1303"}}')).toMatchObject({ retryable: true, overload: true, code: "1303" });
    expect(classifyInStreamError("overloaded_error", "busy", "{}")).toMatchObject({ retryable: true, overload: true });
  });
  test("only 1302 (too many at once) says concurrency: the limiter learns its ceiling from that one", () => {
    expect(classifyInStreamError("rate_limit_error", "[1302] High concurrency", "{}").concurrency).toBe(true);
    expect(classifyStatus(429, '{"error":{"code":"1302","message":"High concurrency"}}').concurrency).toBe(true);
    expect(classifyInStreamError("error", "High frequency", '{"error":{"code":"1303"}}').concurrency).toBe(false);
    expect(classifyInStreamError("overloaded_error", "busy", "{}").concurrency).toBe(false);
    expect(classifyStatus(529, '{"type":"error","error":{"type":"overloaded_error"}}').concurrency).toBe(false);
    expect(classifyStatus(429, '{"type":"error","error":{"type":"rate_limit_error"}}').concurrency).toBe(false);
  });
  test("quota walls and bad requests are not retried", () => {
    expect(classifyInStreamError("rate_limit_error", "[1308] Usage limit reached", "{}")).toMatchObject({ retryable: false, code: "1308" });
    expect(classifyInStreamError("invalid_request_error", "bad", "{}")).toMatchObject({ retryable: false });
    expect(classifyInStreamError("authentication_error", "bad key", "{}")).toMatchObject({ retryable: false });
  });
});

test("failure classes: connection trouble is retryable and counts as network; client aborts are final", () => {
  for (const c of ["connect", "tls", "tls_timeout", "headers_timeout", "dead_session", "upload_stall"] as const) {
    expect(classifyFailure(c)).toMatchObject({ retryable: true, network: true });
  }
  for (const c of ["reset", "goaway", "protocol", "idle_timeout"] as const) expect(classifyFailure(c)).toMatchObject({ retryable: true, network: false });
  for (const c of ["client_abort", "queue_full", "queue_timeout"] as const) expect(classifyFailure(c).retryable).toBe(false);
  expect(new Set(FAILURE_CLASSES).size).toBe(FAILURE_CLASSES.length as number);
});

test("docs/ARCHITECTURE.md's failure-class table, and README's, are FAILURE_TABLE, row for row; README's auto lane names its h2 classes", async () => {
  const { FAILURE_TABLE } = await import("../../src/upstream/failure.ts");
  for (const path of ["../../docs/ARCHITECTURE.md", "../../README.md"]) {
    const doc = await Bun.file(new URL(path, import.meta.url)).text();
    const rows = [...doc.matchAll(/^\| `([a-z_0-9]+)` \| (yes)? \| (yes)? \| (yes)? \| (yes)? \| (.+) \|$/gm)].map((m) => [
      m[1],
      { retryable: !!m[2], network: !!m[3], h2: !!m[4], overload: !!m[5], means: m[6] },
    ]);
    expect([path, Object.fromEntries(rows)]).toEqual([path, JSON.parse(JSON.stringify(FAILURE_TABLE))]);
  }
  // The `transport` key's row lists the classes that move an auto lane to HTTP/1.1: exactly the h2 ones.
  const readme = await Bun.file(new URL("../../README.md", import.meta.url)).text();
  const auto = /^\| `transport` \|.*$/m.exec(readme)![0].split("`auto`")[1]!.split("h1_cooldown_ms")[0]!;
  const named = [...auto.matchAll(/`([a-z_0-9]+)`/g)].map((m) => m[1]!).filter((c) => c in FAILURE_TABLE);
  expect(named.sort()).toEqual(
    Object.entries(FAILURE_TABLE)
      .filter(([, t]) => t.h2)
      .map(([c]) => c)
      .sort(),
  );
});

describe("the provider's own word", () => {
  test("x-should-retry: false is never retried; a 429 whose unified headers say rejected is a plan limit, passed on", () => {
    expect(classifyStatus(529, "{}", [["x-should-retry", "false"]])).toMatchObject({ retryable: false, overload: false });
    expect(
      classifyStatus(429, "{}", [
        ["anthropic-ratelimit-unified-status", "rejected"],
        ["anthropic-ratelimit-unified-5h-status", "rejected"],
      ]),
    ).toMatchObject({ retryable: false, overload: false });
    expect(classifyStatus(429, "{}", [["anthropic-ratelimit-unified-7d-status", "rejected"]])).toMatchObject({ retryable: false, overload: false });
    // A throttle on subscription traffic: unified headers, but not rejected.
    expect(classifyStatus(429, "{}", [["anthropic-ratelimit-unified-status", "allowed_warning"]])).toMatchObject({ retryable: true, overload: true });
    expect(classifyStatus(429, "{}", [])).toMatchObject({ retryable: true, overload: true });
  });
});
