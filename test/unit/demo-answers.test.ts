import { expect, test } from "bun:test";
import { answerWords, BURST_EVENT, estimateTokens, lastUserText, messageBody, outputTokens, readDemoRequest, streamEvents } from "../../src/demo/answers.ts";
import { demoConfigToml } from "../../src/demo/config.ts";
import { faulted } from "../../src/demo/simulator.ts";
import { classifyInStreamError } from "../../src/resilience/classify.ts";
import { newObservation, observeEvent, observeJsonBody } from "../../src/sse/observer.ts";
import { SseParser } from "../../src/sse/parser.ts";
import { prng } from "../support/usage-records.ts";

const SEED = Number(process.env.CCP_DEMO_SEED ?? Date.now() % 1_000_000);
console.log(`demo-answers seed ${SEED} (CCP_DEMO_SEED=${SEED} replays it)`);

const observe = (text: string) => {
  const o = newObservation();
  for (const ev of new SseParser().push(new TextEncoder().encode(text))) observeEvent(o, ev);
  return o;
};

test(`a streamed answer is a well-formed Messages stream whose text and usage match the JSON one (seed ${SEED})`, () => {
  const rnd = prng(SEED);
  for (let n = 0; n < 200; n++) {
    const words = Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => "abcdé “x” <y> \n\t".slice(0, 1 + Math.floor(rnd() * 14)));
    const body = JSON.stringify({ model: `m-${n}`, stream: true, messages: [{ role: "user", content: words.join(" ") }] });
    const req = readDemoRequest(body);
    const answer = answerWords(req);
    const text = streamEvents(req, `msg_${n}`, answer).join("");
    const o = observe(text);
    expect({ n, start: o.messageStart, stop: o.messageStop, open: o.openBlocks.size, stopReason: o.stopReason }).toEqual({ n, start: true, stop: true, open: 0, stopReason: "end_turn" });
    expect(o.inputTokens).toBe(estimateTokens(body.length));
    expect(o.outputTokens).toBe(outputTokens(answer));
    const whole = observeJsonBody;
    const j = newObservation();
    whole(j, JSON.stringify(messageBody(req, `msg_${n}`, answer)));
    expect([j.inputTokens, j.outputTokens]).toEqual([o.inputTokens, o.outputTokens]);
    const deltas = [...text.matchAll(/"text":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string).join("");
    expect(deltas).toBe(answer.join(""));
  }
});

test("the answer says it is simulated and quotes the last user text, system reminders left out and cut short", () => {
  const body = {
    messages: [
      { role: "user", content: "first" },
      { role: "assistant", content: "x" },
      {
        role: "user",
        content: [
          { type: "text", text: "<system-reminder>ignore</system-reminder>" },
          { type: "text", text: "what   is\nccp?" },
        ],
      },
    ],
  };
  expect(lastUserText(body)).toBe("what is ccp?");
  expect(lastUserText({ messages: [{ role: "user", content: "y".repeat(200) }] })).toBe(`${"y".repeat(59)}…`);
  expect(answerWords(readDemoRequest(JSON.stringify(body))).join("")).toBe(
    "[ccp demo] A simulated answer: no model was asked and nothing left this machine. You asked: “what is ccp?”. ccp routed, streamed and logged it.",
  );
  expect(readDemoRequest("not json")).toMatchObject({ model: "claude-demo", stream: false, asked: "" });
});

test("the burst answer is what ccp takes for Z.ai's retryable [1302]; faults hit every other request", () => {
  const o = observe(BURST_EVENT);
  expect(o.messageStart).toBe(false);
  expect(classifyInStreamError(o.error!.type, o.error!.message, o.error!.raw)).toMatchObject({ retryable: true, overload: true, code: "1302" });
  expect([1, 2, 3, 4].map((n) => faulted("burst", n))).toEqual([true, false, true, false]);
  expect([1, 2].map((n) => faulted("none", n))).toEqual([false, false]);
});

test("the demo's config is one h1 lane named demo, with a key that is not the client's, and every model routed to it", () => {
  const c = Bun.TOML.parse(demoConfigToml(8082, "http://127.0.0.1:4000")) as Record<string, unknown>;
  expect(c).toMatchObject({
    port: 8082,
    lanes: { demo: { base_url: "http://127.0.0.1:4000", auth: "key", key_env: "CCP_DEMO_KEY", transport: "h1" } },
    routes: [{ match: "*", lane: "demo" }],
    profiles: { demo: {} },
  });
});
