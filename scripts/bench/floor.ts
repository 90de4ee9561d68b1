/**
 * The floor: the least any Bun proxy costs on this machine. Bun.serve in front of Bun's fetch,
 * passing the request and the streamed response through with no routing, checks, usage log,
 * SSE guard or retries (HTTP/1.1 to the upstream). `bun run bench --floor` measures it as a
 * third arm, so ccp's figures can be read against what one extra Bun hop costs by itself.
 *
 * bun scripts/bench/floor.ts --upstream https://127.0.0.1:PORT --ca cert.pem
 */
import { readFileSync } from "node:fs";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  const v = i === -1 ? undefined : process.argv[i + 1];
  if (v === undefined) throw new Error(`floor: ${name} is required`);
  return v;
};
const upstream = arg("--upstream").replace(/\/$/, "");
const ca = readFileSync(arg("--ca"), "utf8");

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 255,
  async fetch(req) {
    const { pathname, search } = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    const res = await fetch(`${upstream}${pathname}${search}`, { method: req.method, headers, body: await req.arrayBuffer(), tls: { ca } });
    return new Response(res.body, { status: res.status, headers: res.headers });
  },
});
console.log(`floor listening on http://127.0.0.1:${server.port}`);
