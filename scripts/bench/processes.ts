/**
 * The benchmark's processes: a self-signed certificate (openssl), the fake upstream (Node.js),
 * the compiled ccp, and the load generator (Bun). Every process started here is killed by
 * `stopAll()`, and at exit.
 */
import { spawnSync, type Subprocess } from "bun";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withHeapHint } from "../../src/ops/heap-hint.ts";
import type { Job, JobResult } from "./loadgen.ts";

const HERE = import.meta.dir;
const started = new Set<Subprocess>();
process.once("exit", () => {
  for (const p of started) p.kill("SIGKILL");
});

export async function stopAll(): Promise<void> {
  for (const p of started) {
    p.kill("SIGTERM");
    const exited = await Promise.race([p.exited.then(() => true), Bun.sleep(3_000).then(() => false)]);
    if (!exited) p.kill("SIGKILL");
  }
  started.clear();
}

/** A clean environment: no proxy variables, nothing of the caller's ccp settings. */
function baseEnv(home: string): Record<string, string> {
  const dump = process.env.BENCH_DUMP_DIR;
  const debug: Record<string, string> = dump ? { BENCH_DUMP_DIR: dump } : {};
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, NO_COLOR: "1", LANG: "C.UTF-8", ...debug };
}

/** Reads a stream line by line into a callback (output of a child process). */
async function lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    for (let nl = buf.indexOf("\n"); nl !== -1; nl = buf.indexOf("\n")) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
}

export interface Cert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly pem: string;
}

export function makeCert(dir: string): Cert {
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const r = spawnSync(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
    { stdout: "ignore", stderr: "pipe" },
  );
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return { certFile, keyFile, pem: readFileSync(certFile, "utf8") };
}

export interface Upstream {
  readonly proc: Subprocess;
  readonly url: string;
  readonly controlUrl: string;
  /** sentBytes: response deltas the upstream has written (handed to its socket) since the last reset */
  stats(): Promise<{ started: number; completed: number; aborted: number; active: number; h1: number; h2: number; connections: number; sentBytes: number }>;
  reset(): Promise<void>;
}

/** Bundles upstream.ts for Node.js and starts it. */
export async function startUpstream(dir: string, cert: Cert): Promise<Upstream> {
  const script = join(dir, "upstream.js");
  const build = spawnSync([process.execPath, "build", join(HERE, "upstream.ts"), "--target", "node", "--outfile", script], {
    stdout: "ignore",
    stderr: "pipe",
  });
  if (build.exitCode !== 0) throw new Error(`bundling the fake upstream failed: ${build.stderr.toString()}`);
  const node = existsSync("/usr/bin/node") ? "/usr/bin/node" : "node";
  const proc = Bun.spawn([node, script, "--cert", cert.certFile, "--key", cert.keyFile], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
    env: baseEnv(dir),
  });
  started.add(proc);
  const ready = await new Promise<{ port: number; controlPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the fake upstream did not start within 10 s")), 10_000);
    void lines(proc.stdout, (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as { port: number; controlPort: number });
    });
  });
  const controlUrl = `http://127.0.0.1:${ready.controlPort}`;
  return {
    proc,
    url: `https://127.0.0.1:${ready.port}`,
    controlUrl,
    stats: async () => (await fetch(`${controlUrl}/stats`)).json() as ReturnType<Upstream["stats"]>,
    reset: async () => void (await fetch(`${controlUrl}/reset`, { method: "POST" })),
  };
}

export interface Ccp {
  readonly proc: Subprocess;
  readonly url: string;
  readonly port: number;
  readonly home: string;
  readonly logFile: string;
}

/** Two lanes on the same upstream: model `bench-h1` over HTTP/1.1, everything else over HTTP/2. */
export function ccpConfig(upstreamUrl: string, caFile: string, persist: boolean): string {
  return `persist = ${persist}
capture = "off"

[lanes.h1]
base_url = "${upstreamUrl}"
transport = "h1"
ca_file = "${caFile}"

[lanes.h2]
base_url = "${upstreamUrl}"
transport = "h2"
ca_file = "${caFile}"

[[routes]]
match = "bench-h1"
lane = "h1"

[[routes]]
match = "*"
lane = "h2"
`;
}

/** Starts `ccp start --foreground --port 0`; its log goes to a file, as it would in production. */
export async function startCcp(bin: string, home: string, config: string, extraEnv: Readonly<Record<string, string>> = {}): Promise<Ccp> {
  const configFile = join(home, "ccp.toml");
  const logFile = join(home, "ccp.out");
  writeFileSync(configFile, config);
  writeFileSync(logFile, "");
  const proc = Bun.spawn([bin, "start", "--foreground", "--port", "0", "--config", configFile], {
    // The environment `ccp start` gives the server it launches (the heap hint), as --foreground under a supervisor should have.
    env: withHeapHint({ ...baseEnv(home), CCP_HOME: join(home, "state"), ...extraEnv }),
    stdin: "ignore",
    stdout: Bun.file(logFile),
    stderr: Bun.file(join(home, "ccp.err")),
  });
  started.add(proc);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const m = /ccp listening on (http:\/\/[^\s]+:(\d+))/.exec(readFileSync(logFile, "utf8"));
    if (m) return { proc, url: m[1]!, port: Number(m[2]), home, logFile };
    if (proc.exitCode !== null) break;
    await Bun.sleep(50);
  }
  throw new Error(`ccp did not start: ${readFileSync(join(home, "ccp.err"), "utf8").slice(0, 2000)}`);
}

export type FloorKind = "serve" | "relay";

/** Starts a floor proxy in front of the upstream (serve: floor.ts, relay: relay.ts); returns its URL. */
export async function startFloor(dir: string, upstreamUrl: string, cert: Cert, kind: FloorKind): Promise<{ readonly url: string; readonly pid: number }> {
  const logFile = join(dir, "floor.out");
  const proc = Bun.spawn([process.execPath, join(HERE, kind === "relay" ? "relay.ts" : "floor.ts"), "--upstream", upstreamUrl, "--ca", cert.certFile], {
    env: baseEnv(dir),
    stdin: "ignore",
    stdout: Bun.file(logFile),
    stderr: "inherit",
  });
  started.add(proc);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const m = /floor listening on (http:\/\/\S+)/.exec(existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
    if (m) return { url: m[1]!, pid: proc.pid };
    if (proc.exitCode !== null) break;
    await Bun.sleep(50);
  }
  throw new Error("the floor proxy did not start");
}

export async function stopProcess(proc: Subprocess): Promise<void> {
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
  if (!exited) proc.kill("SIGKILL");
  started.delete(proc);
}

export interface LoadGen {
  readonly pid: number;
  run<J extends Job>(job: Omit<J, "id">): Promise<JobResult>;
}

export function startLoadGen(home: string): LoadGen {
  const proc = Bun.spawn([process.execPath, join(HERE, "loadgen.ts")], { stdin: "pipe", stdout: "pipe", stderr: "inherit", env: baseEnv(home) });
  started.add(proc);
  const waiting = new Map<number, (r: JobResult) => void>();
  void lines(proc.stdout, (line) => {
    const r = JSON.parse(line) as JobResult;
    waiting.get(r.id)?.(r);
    waiting.delete(r.id);
  });
  let nextId = 1;
  return {
    pid: proc.pid,
    run(job) {
      const id = nextId++;
      return new Promise<JobResult>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`load generator job ${id} took more than 5 minutes`)), 300_000);
        waiting.set(id, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
        proc.stdin.write(`${JSON.stringify({ ...job, id })}\n`);
        proc.stdin.flush();
      });
    },
  };
}
