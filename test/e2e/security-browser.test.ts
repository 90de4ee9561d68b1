import { afterAll, beforeAll, expect, test } from "bun:test";
import net from "node:net";
import { chromiumUnavailable, launchChromium } from "../support/chromium.ts";
import { laneConfig, startCcp, type CcpProcess } from "../support/ccp.ts";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream/index.ts";

/**
 * A web page the operator happens to visit tries every way a browser offers to use ccp's key
 * lane (the default configuration: no proxy key, a Z.ai key injected by ccp), in a real
 * headless Chromium: from another site, from another port of the same machine, and through
 * DNS rebinding, where the page's own origin comes to point at ccp. The fake upstream must
 * see none of it.
 */
declare const document: { title: string };

const why = chromiumUnavailable();
if (why) console.warn(`browser security test skipped: no headless Chromium (${why})`);

let upstream: FakeUpstream;
let ccp: CcpProcess;
let attacker: ReturnType<typeof Bun.serve>;

/** Runs in the page: every browser path to POST /v1/messages and to read ccp's pages. */
const ATTACK = `
async function attack(target) {
  const body = JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 8, stream: false, messages: [{ role: "user", content: "spend the key" }] });
  const url = target + "/v1/messages?beta=true";
  const results = {};
  const tryIt = async (name, fn) => { try { results[name] = await fn(); } catch (e) { results[name] = "rejected: " + e.message; } };
  await tryIt("no-cors fetch of a Blob", async () => (await fetch(url, { method: "POST", mode: "no-cors", body: new Blob([body]) })).type);
  await tryIt("no-cors fetch of a JSON Blob", async () => (await fetch(url, { method: "POST", mode: "no-cors", body: new Blob([body], { type: "application/json" }) })).type);
  await tryIt("no-cors fetch of text", async () => (await fetch(url, { method: "POST", mode: "no-cors", body })).type);
  await tryIt("cors fetch of JSON", async () => { const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body }); return r.status + " " + (await r.text()); });
  await tryIt("cors read of /status", async () => (await (await fetch(target + "/status")).text()));
  await tryIt("cors read of /dashboard/data", async () => (await (await fetch(target + "/dashboard/data")).text()));
  results["sendBeacon of a Blob"] = navigator.sendBeacon(url, new Blob([body]));
  results["sendBeacon of text"] = navigator.sendBeacon(url, body);
  const frame = document.createElement("iframe");
  frame.name = "sink";
  document.body.append(frame);
  const form = document.createElement("form");
  form.method = "POST"; form.enctype = "text/plain"; form.action = url; form.target = "sink";
  const input = document.createElement("input");
  input.name = body.slice(0, -1) + ',"x":"'; input.value = '"}';
  form.append(input);
  document.body.append(form);
  form.submit();
  await new Promise((resolve) => { const img = new Image(); img.onload = img.onerror = resolve; img.src = target + "/v1/models"; });
  await new Promise((resolve) => { const s = document.createElement("script"); s.onload = s.onerror = resolve; s.src = target + "/status"; document.body.append(s); });
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the beacons and the form go out
  return results;
}`;

const page = (script: string) => `<!doctype html><html><head><title>cat pictures</title></head><body><script>${ATTACK}\n${script}</script></body></html>`;

beforeAll(async () => {
  if (why) return;
  upstream = await startFakeUpstream();
  ccp = await startCcp({ config: laneConfig(upstream.url, upstream.caFile), env: { ZAI_API_KEY: "zai-lane-key-1234567890abcdef" } });
  attacker = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () =>
      new Response(page(`attack(${JSON.stringify(ccp.url)}).then((r) => { window.results = r; document.title = "done"; });`), {
        headers: { "content-type": "text/html" },
      }),
  });
});
afterAll(async () => {
  attacker?.stop(true);
  await ccp?.stop();
  await upstream?.close();
});

const refusals = () =>
  ccp
    .output()
    .split("\n")
    .filter((l) => l.includes("refused a browser request")).length;

test.skipIf(Boolean(why))("a page on another site, and one on another port of this machine, cannot reach the key lane or read ccp", async () => {
  const browser = await launchChromium();
  try {
    for (const origin of [`http://localhost:${attacker.port}`, `http://127.0.0.1:${attacker.port}`]) {
      await upstream.reset();
      const before = refusals();
      const tab = await browser.newPage();
      await tab.goto(`${origin}/`);
      await tab.waitForFunction(() => document.title === "done", undefined, { timeout: 30_000 });
      const results = (await tab.evaluate("window.results")) as Record<string, unknown>;
      await tab.close();
      // Nothing was read: the CORS fetches failed, the no-cors ones are opaque by design.
      for (const name of ["cors fetch of JSON", "cors read of /status", "cors read of /dashboard/data"]) expect(String(results[name]), `${origin}: ${name}`).toStartWith("rejected");
      expect(await upstream.requests(), `${origin}: the upstream saw the page's requests`).toEqual([]);
      // ...and they did reach ccp, which refused them (the beacons and the form included).
      expect(refusals() - before, `${origin}: refusals`).toBeGreaterThanOrEqual(8);
    }
  } finally {
    await browser.close();
  }
});

test.skipIf(Boolean(why))("ccp reached as 0.0.0.0 or an IPv4-mapped address (no Sec-Fetch-* from the browser there): a page's GETs are refused too", async () => {
  const browser = await launchChromium();
  try {
    const tab = await browser.newPage();
    await tab.goto(`http://localhost:${attacker.port}/`);
    await tab.waitForFunction(() => document.title === "done", undefined, { timeout: 30_000 });
    await upstream.reset();
    for (const host of ["0.0.0.0", "[::ffff:127.0.0.1]"]) {
      const before = refusals();
      await tab.evaluate(`(async () => {
        const target = "http://${host}:${ccp.port}";
        await new Promise((resolve) => { const img = new Image(); img.onload = img.onerror = resolve; img.src = target + "/v1/models?img"; });
        await fetch(target + "/v1/models?nocors", { mode: "no-cors" }).catch(() => {});
        await fetch(target + "/v1/models?keepalive", { mode: "no-cors", keepalive: true }).catch(() => {});
        const frame = document.createElement("iframe"); frame.src = target + "/v1/models?frame"; document.body.append(frame);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      })()`);
      expect(refusals() - before, host).toBeGreaterThanOrEqual(3);
    }
    expect(await upstream.requests()).toEqual([]);
  } finally {
    await browser.close();
  }
});

test.skipIf(Boolean(why))("DNS rebinding: a page whose own name comes to point at ccp gets 403 for every request, reads nothing, spends nothing", async () => {
  // A relay plays the attacker's DNS: first its name serves the attacker's page, then (rebound) ccp.
  let rebound = false;
  // Decided at a connection's first request, not when it opens: the browser opens spare connections early.
  const relay = net.createServer((client) => {
    client.on("error", () => {});
    client.once("data", (first) => {
      if (!rebound) {
        const html = page("window.ready = true;");
        client.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${Buffer.byteLength(html)}\r\nconnection: close\r\n\r\n${html}`);
        return;
      }
      const server = net.connect(ccp.port, "127.0.0.1");
      server.write(first);
      client.pipe(server).pipe(client);
      server.on("error", () => client.destroy());
      client.on("close", () => server.destroy());
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const port = (relay.address() as net.AddressInfo).port;
  const browser = await launchChromium(["--host-resolver-rules=MAP attacker.test 127.0.0.1"]);
  try {
    await upstream.reset();
    const tab = await browser.newPage();
    await tab.goto(`http://attacker.test:${port}/`);
    await tab.waitForFunction("window.ready === true", undefined, { timeout: 30_000 });
    rebound = true;
    // Same origin now: the page may send JSON and read every answer.
    const answers = (await tab.evaluate(`(async () => {
      const out = {};
      for (const path of ["/status", "/dashboard/data", "/metrics", "/v1/models", "/healthz"]) {
        const r = await fetch(path); out[path] = r.status + " " + (await r.text());
      }
      const body = JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 8, stream: false, messages: [{ role: "user", content: "spend the key" }] });
      const r = await fetch("/v1/messages?beta=true", { method: "POST", headers: { "content-type": "application/json" }, body });
      out["/v1/messages"] = r.status + " " + (await r.text());
      return out;
    })()`)) as Record<string, string>;
    for (const [path, answer] of Object.entries(answers)) {
      expect(answer, path).toStartWith("403 ");
      expect(answer, path).toContain("DNS rebinding");
      expect(answer, path).not.toContain("zai");
    }
    expect(await upstream.requests()).toEqual([]);
  } finally {
    await browser.close();
    relay.close();
  }
});

test.skipIf(Boolean(why))("ccp's own dashboard, opened by name (localhost) or address, still loads its data", async () => {
  const browser = await launchChromium();
  try {
    for (const base of [ccp.url, ccp.url.replace("127.0.0.1", "localhost")]) {
      const tab = await browser.newPage();
      await tab.goto(`${base}/dashboard`);
      await tab.waitForFunction("document.body.dataset.loaded !== undefined", undefined, { timeout: 20_000 });
      await tab.close();
    }
  } finally {
    await browser.close();
  }
});
