import { answerWords, BURST_EVENT, estimateTokens, messageBody, modelsBody, overloadBody, readDemoRequest, streamEvents } from "./answers.ts";

/**
 * The demo's upstream: an Anthropic-compatible endpoint on loopback (plain HTTP/1.1, in ccp's
 * own process) that answers every model with a short simulated text, streamed word by word, so a
 * new user sees ccp work without a provider account. `fault` makes every other Messages request
 * it receives fail as providers do; ccp's retry of it is the next one, and is answered.
 */
export type Fault = "none" | "burst" | "overload";
export const FAULTS: readonly Fault[] = ["none", "burst", "overload"];

/** What each fault does, in the words the demo prints. */
export const FAULT_WORDS: Record<Fault, string> = {
  none: "none: every request is answered at once",
  burst: "burst: every other request gets HTTP 200 and at once an in-stream [1302] burst-limit error, as Z.ai sends it; ccp retries it",
  overload: "overload: every other request gets HTTP 529 overloaded_error, as Anthropic sends it; ccp retries it",
};

export interface SimulatorOptions {
  readonly fault: Fault;
  /** Before the first event (the model "thinking"): a realistic time to first token. */
  readonly firstEventMs?: number;
  /** Between two words of a streamed answer. */
  readonly wordMs?: number;
}

export interface Simulator {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Every other Messages request meets the fault (the 1st, 3rd, ...): a client's request and ccp's retry of it fall on a pair. */
export const faulted = (fault: Fault, n: number): boolean => fault !== "none" && n % 2 === 1;

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

export function startSimulator(o: SimulatorOptions): Simulator {
  let n = 0;
  const firstEventMs = o.firstEventMs ?? 300;
  const wordMs = o.wordMs ?? 30;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === "POST" && path === "/v1/messages") return messages(await req.text(), ++n);
      if (req.method === "POST" && path === "/v1/messages/count_tokens") return Response.json({ input_tokens: estimateTokens((await req.text()).length) });
      if (req.method === "GET" && path === "/v1/models") return Response.json(modelsBody());
      if (path === "/") return Response.json({ service: "ccp demo upstream (simulated)" });
      return Response.json({ type: "error", error: { type: "not_found_error", message: `ccp demo: no ${req.method} ${path} here` } }, { status: 404 });
    },
  });

  function messages(text: string, i: number): Response | Promise<Response> {
    const headers = { "request-id": `req_demo_${i}` };
    if (faulted(o.fault, i)) {
      if (o.fault === "burst") return new Response(BURST_EVENT, { headers: { ...headers, ...SSE_HEADERS } });
      return Response.json(overloadBody(headers["request-id"]), { status: 529, headers });
    }
    const req = readDemoRequest(text);
    const words = answerWords(req);
    const id = `msg_demo_${i}`;
    if (!req.stream) return delayed(firstEventMs, () => Response.json(messageBody(req, id, words), { headers }));
    const events = streamEvents(req, id, words);
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        const enc = new TextEncoder();
        try {
          await Bun.sleep(firstEventMs);
          for (const [k, e] of events.entries()) {
            controller.enqueue(enc.encode(e));
            // The words come one by one; the closing events together.
            if (e.includes("text_delta") && k < events.length - 1) await Bun.sleep(wordMs);
          }
          controller.close();
        } catch {
          // ccp went away (its client left): nothing more to send.
        }
      },
    });
    return new Response(body, { headers: { ...headers, ...SSE_HEADERS } });
  }

  const port = server.port ?? 0;
  return { url: `http://127.0.0.1:${port}`, port, stop: () => server.stop(true) };
}

async function delayed(ms: number, answer: () => Response): Promise<Response> {
  await Bun.sleep(ms);
  return answer();
}
