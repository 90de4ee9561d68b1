import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { usageLogPath } from "../../src/usage/paths.ts";
import type { UsageRecord } from "../../src/usage/record.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { Lane } from "../../src/config/config.ts";
import type { TransportFactory } from "../../src/resilience/lane-runtime.ts";
import { createApp, type App } from "../../src/server/app.ts";
import type { Logger } from "../../src/server/context.ts";
import { createServerParts, type ServerDeps, type ServerParts } from "../../src/server/serve.ts";
import type { ByteSource } from "../../src/upstream/body-queue.ts";
import { type FailureClass, UpstreamFailure } from "../../src/upstream/failure.ts";
import type { Protocol, Transport, UpstreamRequest } from "../../src/upstream/transport.ts";

/**
 * Transports that answer from a script instead of a network, so the request path and the
 * attempt loop run in process (Hono's `app.request` habit): each attempt takes the next step.
 */
export type Step =
  /** The attempt fails before any response (connect, tls, headers_timeout, goaway...). */
  | { readonly fail: FailureClass; readonly beforeRequestSent?: boolean }
  /** A response: status, headers and the body's pieces; `breakWith` fails the body after them. */
  | { readonly status: number; readonly headers?: [string, string][]; readonly body?: string | readonly string[]; readonly breakWith?: FailureClass };

export interface Sent {
  readonly lane: string;
  readonly protocol: Protocol;
  readonly request: UpstreamRequest;
}

const enc = new TextEncoder();

function bodyOf(pieces: readonly string[], breakWith: FailureClass | undefined, signal: AbortSignal): ByteSource {
  let i = 0;
  let cancelled = false;
  return {
    async read() {
      if (cancelled || signal.aborted) return { done: true };
      if (i < pieces.length) return { done: false, value: enc.encode(pieces[i++]!) };
      if (breakWith) throw new UpstreamFailure(breakWith, `scripted ${breakWith}`);
      return { done: true };
    },
    async cancel() {
      cancelled = true;
    },
  };
}

/** A factory whose transports play `next(lane, protocol)` for each attempt; `sent` lists what they were asked. */
export function scriptedTransports(next: (lane: Lane, protocol: Protocol, n: number) => Step): { factory: TransportFactory; sent: Sent[] } {
  const sent: Sent[] = [];
  const factory: TransportFactory = (lane, protocol) => {
    const transport: Transport = {
      protocol,
      async send(request) {
        sent.push({ lane: lane.name, protocol, request });
        const step = next(lane, protocol, sent.length);
        if ("fail" in step) throw new UpstreamFailure(step.fail, `scripted ${step.fail}`, step.beforeRequestSent ?? false);
        const pieces = step.body === undefined ? [] : typeof step.body === "string" ? [step.body] : step.body;
        return { protocol, status: step.status, headers: step.headers ?? [], body: bodyOf(pieces, step.breakWith, request.signal) };
      },
      close() {},
    };
    return transport;
  };
  return { factory, sent };
}

/** A queue of steps for every attempt in order (then `fallback` for the rest). */
export function stepsInOrder(steps: readonly Step[], fallback: Step = { status: 500, body: "{}" }): (lane: Lane, protocol: Protocol, n: number) => Step {
  return (_lane, _protocol, n) => steps[n - 1] ?? fallback;
}

export interface InProcessApp {
  readonly app: App;
  readonly parts: ServerParts;
  readonly sent: Sent[];
  readonly logs: string[];
  /** Calls the app as the server would: no socket. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** The usage records written so far (read the answers' bodies first: a record is written when its answer ends). */
  records(): Promise<UsageRecord[]>;
}

/** The whole request path, in process, over scripted transports. */
export function inProcessApp(toml: string, next: (lane: Lane, protocol: Protocol, n: number) => Step, env: Record<string, string> = {}, deps: Omit<ServerDeps, "transports"> = {}): InProcessApp {
  const home = mkdtempSync(join(tmpdir(), "ccp-inproc-"));
  const file = join(home, "ccp.toml");
  writeFileSync(file, toml);
  const config = loadConfig({ file, env: { HOME: home, CCP_HOME: join(home, "state"), ...env }, port: 0 });
  const logs: string[] = [];
  const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
  const { factory, sent } = scriptedTransports(next);
  const parts = createServerParts(config, log, { ...deps, transports: factory });
  parts.poller.stop();
  const app = createApp(parts.ctx, parts.obs);
  return {
    app,
    parts,
    sent,
    logs,
    request: async (path, init) => app.fetch(new Request(`http://127.0.0.1:8082${path}`, init), 8082),
    records: async () => {
      await parts.ctx.sink.flush();
      const path = usageLogPath(config);
      if (!existsSync(path)) return [];
      return readFileSync(path, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as UsageRecord);
    },
  };
}

/** SSE frames of a short, complete answer. */
export function sseAnswer(text = "ok", stopReason = "end_turn"): string[] {
  const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  return [
    frame("message_start", {
      type: "message_start",
      message: { id: "msg_s", type: "message", role: "assistant", model: "m", content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } },
    }),
    frame("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    frame("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }),
    frame("content_block_stop", { type: "content_block_stop", index: 0 }),
    frame("message_delta", { type: "message_delta", delta: { stop_reason: stopReason }, usage: { output_tokens: 2 } }),
    frame("message_stop", { type: "message_stop" }),
  ];
}
