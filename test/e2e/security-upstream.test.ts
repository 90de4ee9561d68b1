import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startInProcess, type InProcessCcp } from "../support/in-process.ts";
import { rawResponse, startRawUpstream, type RawAnswer, type RawUpstream } from "../support/raw-upstream.ts";
import { readUsageLines } from "../support/usage-file.ts";
import { prng } from "../support/usage-records.ts";

/**
 * An upstream that sends what no HTTP library would (status codes outside 100–599, NUL and bare
 * LF in header values, spaces in header names, its credential in a header name, the status
 * line, a chunk-size line or a non-JSON body, at any length), generated from a seed. Whatever
 * it sends: the client gets a well-formed answer and never the lane key or a piece of it of
 * 12 characters or more; every request gets its usage line; no request stays in flight and no
 * concurrency slot leaks (the lane allows one stream at a time, and a healthy request after
 * each case still gets through).
 */
const SEED = 18_006;
const CASES = 120;
/** Mixed case, as a real key can be: header names are lower-cased on the way. */
const LANE_KEY = "laneKEY-ABCdef0123456789ghiJKLmnopqrstuv";
const FRAGMENT = 12;

let upstream: RawUpstream;
let ccp: InProcessCcp;

beforeAll(async () => {
  upstream = await startRawUpstream();
  ccp = startInProcess(
    `port = 0
capture = "all"
[lanes.keyed]
base_url = "${upstream.url}/k"
auth = "key"
key_env = "LANE_KEY"
transport = "h1"
max_concurrency = 1
queue_timeout_ms = 3000
retry = { attempts = 1 }
[[routes]]
match = "*"
lane = "keyed"
`,
    { LANE_KEY },
  );
});
afterAll(async () => {
  await ccp?.stop(100);
  upstream?.close();
});

/** Every piece of the key this long, lower-cased too: what must never appear. */
const fragments = (key: string) => {
  const out = new Set<string>();
  for (let i = 0; i + FRAGMENT <= key.length; i++) out.add(key.slice(i, i + FRAGMENT)).add(key.slice(i, i + FRAGMENT).toLowerCase());
  return [...out];
};
const leaked = (text: string) => fragments(LANE_KEY).find((f) => text.includes(f));

const post = (stream: boolean) =>
  fetch(`${ccp.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "m", max_tokens: 8, stream, messages: [] }),
  });

/** Shapes of a hostile answer; `k` is the credential, `pad` filler that moves it around. */
const SHAPES: ((k: string, pad: string) => Uint8Array | string)[] = [
  (k, pad) => rawResponse(`HTTP/1.1 ${pad.length % 2 ? "600" : "099"} ${pad}${k}`, "{}"),
  (k, pad) => rawResponse(`HTTP/1.1 200 OK ${pad}${k}\r\ncontent-type: application/json\r\nx-nul: a\u0000${k}`, "{}"),
  (k, pad) => rawResponse(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-lf: a\n${pad}${k}`, "{}"),
  (k) => rawResponse(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx ${k}: 1`, "{}"),
  (k) => rawResponse(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-${k}: 1`, '{"type":"message","content":[],"role":"assistant"}'),
  (k, pad) => `HTTP/1.1 ${pad}${k}\r\n\r\n`,
  (k, pad) => `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${pad}${k}\r\n`,
  (k, pad) => rawResponse(`HTTP/1.1 429 Too Many\r\ncontent-type: text/plain`, `${pad}${k} slow down`),
  (k, pad) => rawResponse(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream`, `${pad.replace(/\s/g, "_")}${k}`),
  (k, pad) => rawResponse(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream`, `event: error\ndata: ${pad}${k}\n\n`),
  (k, pad) => rawResponse(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: x-${pad.slice(0, 20).replace(/\W/g, "")}${k}`, "{}"),
];

describe(`an upstream that sends what no HTTP library would (seed ${SEED}, ${CASES} cases)`, () => {
  test("every case: a well-formed answer without the key, a usage line, nothing left in flight, the lane still usable", async () => {
    const rnd = prng(SEED);
    const words = ["the", "key", "you", "sent", "was", "x", "Bearer", "token=", "", "a-b"];
    for (let i = 0; i < CASES; i++) {
      const shape = Math.floor(rnd() * SHAPES.length);
      const pad = Array.from({ length: Math.floor(rnd() * 40) }, () => words[Math.floor(rnd() * words.length)]).join(rnd() < 0.5 ? " " : "");
      const answer: RawAnswer = (credential) => SHAPES[shape]!(credential, pad);
      upstream.script(answer);
      const where = `case ${i} (seed ${SEED}), shape ${shape}, pad ${JSON.stringify(pad.slice(0, 40))}`;
      const res = await post(rnd() < 0.5);
      const text = await res.text();
      const everything = `${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${text}`;
      expect(leaked(everything), `${where}: a piece of the key reached the client`).toBeUndefined();
      expect(text, `${where}: ccp's own internal error`).not.toContain("ccp internal error");
      if (res.status >= 400) expect(() => JSON.parse(text), `${where}: not an error envelope`).not.toThrow();
      // The lane is not jammed: the next, healthy request gets its slot and its answer.
      const healthy = await post(false);
      expect(healthy.status, `${where}: the lane stopped working`).toBe(200);
      await healthy.text();
    }
    const until = Date.now() + 5_000;
    while (readUsageLines(ccp.usageFile).length < CASES * 2 && Date.now() < until) await Bun.sleep(50);
    expect(readUsageLines(ccp.usageFile)).toHaveLength(CASES * 2);
    const status = (await (await fetch(`${ccp.url}/status`)).json()) as { inflight: number };
    expect(status.inflight).toBe(0);
  });

  test("no log line, usage line, capture file or metric holds a piece of the key", async () => {
    await ccp.stop(100);
    const { readdirSync, readFileSync, statSync } = await import("node:fs");
    const { join } = await import("node:path");
    const home = join(ccp.usageFile, "..", "..", "..");
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
    for (const file of walk(home)) expect(leaked(readFileSync(file).toString("latin1")), file).toBeUndefined();
    expect(leaked(ccp.logs.join("\n")), "the server log").toBeUndefined();
  });
});
