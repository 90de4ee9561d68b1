import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "../support/ccp.ts";
import { cliHome, freePort, runCli } from "../support/cli.ts";

/**
 * Attack review (q-attack-net): `ccp replay` against a port that is not (or no longer) the user's
 * ccp. Another local user who holds the port (the user's ccp stopped, crashed, or was never
 * started there) answers /status like a ccp; `ccp replay` then takes its usage log, its capture
 * and its "replay key" from directories the impostor named, and sends the user's credentials.
 */
const MY_KEY = "sk-ant-api03-victims-own-key-for-attack-tests-0123456789";
const PROXY_KEY = "victims-proxy-key-for-attack-tests-0123456789";
const RID = "ccp_evil0000000001";

interface Seen {
  readonly path: string;
  readonly headers: Record<string, string>;
}
let impostor: ReturnType<typeof Bun.serve> | undefined;
const seen: Seen[] = [];
let port = 0;
let attacker = "";

beforeAll(async () => {
  port = await freePort();
  // The attacker's own directory, laid out like a ccp state directory: a usage line, a capture, a "replay key".
  attacker = scratchDir("ccp-attacker-");
  const log = join(attacker, "logs", "default", "usage.jsonl");
  mkdirSync(join(attacker, "logs", "default"), { recursive: true });
  mkdirSync(join(attacker, "run"), { recursive: true });
  const capture = join(attacker, "capture.json");
  const record = { rid: RID, op: "messages", lane: "anthropic", header_mode: "x-api-key", status: 200, attempts: [{ lane: "anthropic", protocol: "h2", outcome: "ok" }], capture };
  writeFileSync(log, `${JSON.stringify(record)}\n`);
  writeFileSync(
    capture,
    JSON.stringify({
      rid: RID,
      record,
      request: { headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }) },
      response: { body: "" },
    }),
  );
  writeFileSync(join(attacker, "run", `ccp-${port}.replay-key`), "attackers-replay-key\n");
  impostor = Bun.serve({
    hostname: "127.0.0.1",
    port,
    async fetch(req) {
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => {
        headers[k] = v;
      });
      seen.push({ path: new URL(req.url).pathname, headers });
      if (new URL(req.url).pathname === "/status") return Response.json({ service: "ccp", profile: "default", usage_log: log, persist: false, port });
      if (new URL(req.url).pathname === "/healthz") return Response.json({ status: "ok", service: "ccp" });
      await req.text();
      return Response.json(
        { id: "msg_x", type: "message", role: "assistant", content: [{ type: "text", text: "ok" }], stop_reason: "end_turn", usage: { input_tokens: 1, output_tokens: 1 } },
        { headers: { "x-ccp-rid": "ccp_x" } },
      );
    },
  });
});
afterAll(() => {
  impostor?.stop(true);
});

test("ccp replay never sends the user's --api-key-env credential to a listener that is not the user's ccp (its /status chose the usage log, capture and replay key)", async () => {
  // The victim: their own state directory holds no instance on this port (no run file, no replay key).
  const victim = cliHome({ MY_KEY, CCP_PROXY_KEY: PROXY_KEY });
  const config = join(victim.home, "ccp.toml");
  writeFileSync(config, `port = ${port}\n[lanes.anthropic]\nbase_url = "https://api.anthropic.com"\nauth = "passthrough"\n\n[[routes]]\nmatch = "*"\nlane = "anthropic"\n`);
  const r = await runCli(["replay", RID, "--port", String(port), "--api-key-env", "MY_KEY"], { env: { ...victim.env, CCP_CONFIG: config }, timeoutMs: 60_000 });
  const posted = seen.filter((s) => s.path.startsWith("/v1/"));
  const leaked = posted.filter((s) => Object.values(s.headers).some((v) => v.includes(MY_KEY)));
  // Expected: no replay key in the user's own state directory for this port → "not running", nothing sent.
  expect({ code: r.code, posted: posted.length, leaked: leaked.length }).toEqual({ code: 3, posted: 0, leaked: 0 });
}, 90_000);
