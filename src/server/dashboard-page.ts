/**
 * GET /dashboard: one self-contained, read-only page (no external assets, no forms). It polls
 * GET /dashboard/data every 2 s and draws the ttft chart as inline SVG. Elements the tests
 * read carry data-k attributes (the field they show).
 */
const STYLE = `
:root{--bg:#0f1419;--panel:#171e26;--line:#2a3542;--text:#e6edf3;--dim:#8b98a5;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--p50:#58a6ff;--p95:#d29922;--p99:#f85149}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--text)}
header{display:flex;align-items:baseline;gap:16px;padding:14px 20px;border-bottom:1px solid var(--line)}
h1{font-size:18px;margin:0}h2{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--dim);margin:0 0 10px}
.dim{color:var(--dim)}main{padding:16px 20px;display:grid;gap:16px;grid-template-columns:repeat(12,1fr)}
section{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:14px}
.kpis{grid-column:span 12;display:flex;gap:28px;flex-wrap:wrap}.kpi b{display:block;font-size:26px;font-variant-numeric:tabular-nums}
.lanes{grid-column:span 5}.chart{grid-column:span 7}.recent,.quota{grid-column:span 12}
.bar{display:inline-block;width:90px;height:8px;background:var(--line);border-radius:4px;vertical-align:middle;margin-right:6px}.bar i{display:block;height:8px;border-radius:4px;background:var(--ok)}
.bar i.warn{background:var(--warn)}.bar i.bad{background:var(--bad)}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--dim);font-weight:500}tr.fail td{background:rgba(248,81,73,.14)}tr.fail td.st{color:var(--bad);font-weight:600}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;border:1px solid var(--line)}
.reachable{color:var(--ok);border-color:var(--ok)}.unreachable{color:var(--bad);border-color:var(--bad)}.unknown{color:var(--dim)}
.legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:3px;margin-right:5px;vertical-align:middle}
svg text{fill:var(--dim);font-size:11px}#stale,#demo{color:var(--warn)}
`;

const SCRIPT = `
const $ = (s) => document.querySelector(s);
const esc = (v) => String(v ?? "-").replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
const ms = (v) => v === null || v === undefined ? "-" : v < 1000 ? v + " ms" : (v / 1000).toFixed(2) + " s";
const set = (k, v) => { for (const el of document.querySelectorAll('[data-k="' + k + '"]')) el.textContent = v; };
function chart(points) {
  const W = 640, H = 200, L = 48, B = 22, T = 8, R = 8;
  const vals = points.flatMap((p) => [p.p50, p.p95, p.p99]).filter((v) => v !== null);
  const max = Math.max(100, ...vals) * 1.1;
  const x = (i) => L + (i * (W - L - R)) / Math.max(1, points.length - 1);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  let g = "";
  for (let k = 0; k <= 4; k++) { const v = (max * k) / 4;
    g += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + y(v) + '" y2="' + y(v) + '" stroke="#2a3542"/>' +
      '<text x="4" y="' + (y(v) + 4) + '">' + ms(Math.round(v)) + "</text>"; }
  g += '<text x="' + L + '" y="' + (H - 4) + '">-60 min</text><text x="' + (W - R - 30) + '" y="' + (H - 4) + '">now</text>';
  for (const [key, colour] of [["p99", "#f85149"], ["p95", "#d29922"], ["p50", "#58a6ff"]]) {
    let d = "", pen = "M";
    let dots = "";
    points.forEach((p, i) => { if (p[key] === null) { pen = "M"; return; } d += pen + x(i).toFixed(1) + " " + y(p[key]).toFixed(1) + " "; pen = "L";
      dots += '<circle cx="' + x(i).toFixed(1) + '" cy="' + y(p[key]).toFixed(1) + '" r="3.5" fill="' + colour + '"><title>' + key + " " + ms(p[key]) + "</title></circle>"; });
    g += '<path d="' + d + '" fill="none" stroke="' + colour + '" stroke-width="2" stroke-linecap="round"/>' + dots;
  }
  $("#chart").innerHTML = g;
}
const span = (ms) => { const s = Math.max(0, Math.round(ms / 1000)); if (s < 60) return s + "s"; const m = Math.floor(s / 60); if (m < 60) return m + "m";
  const h = Math.floor(m / 60); return h < 48 ? h + "h" + String(m % 60).padStart(2, "0") + "m" : Math.floor(h / 24) + "d" + (h % 24) + "h"; };
function quotaRows(plans, now) {
  return plans.flatMap((p) => {
    const resets = p.wall && p.wall.resets_at !== null && p.wall.resets_at > now ? " ↻" + span(p.wall.resets_at - now) : "";
    const mark = (p.state === "walled" ? ' <span class="pill unreachable" data-k="wall">walled ' + esc(p.wall && p.wall.code) + resets + "</span>" : "") +
      (p.overage && p.overage.in_use ? ' <span class="pill" style="color:var(--warn)" data-k="overage">overage (' + esc(p.overage_setting) + ")</span>" : "") +
      (p.poll === "failing" ? ' <span class="dim">quota endpoint failing</span>' : "");
    if (p.windows.length === 0) return ['<tr data-plan="' + esc(p.lane) + '"><td>' + esc(p.lane) + '</td><td class="dim" colspan="7">no reading yet' + mark + "</td></tr>"];
    return p.windows.map((w) => { const u = w.utilization; const pct = u === null ? "-" : Math.round(u * 100) + "%";
      const cls = u === null ? "" : u >= 1 ? "bad" : u >= 0.8 ? "warn" : "";
      return '<tr data-plan="' + esc(p.lane) + '"><td>' + esc(p.lane) + '</td><td class="dim">' + esc(p.credential) + "</td><td>" + esc(w.window) +
        '</td><td data-k="used"><span class="bar"><i class="' + cls + '" style="width:' + Math.min(100, Math.round((u || 0) * 100)) + '%"></i></span>' + pct +
        "</td><td>" + (w.resets_at === null ? "-" : span(w.resets_at - now)) + "</td><td>" + esc(w.status) + mark + "</td><td>" + esc(w.source) +
        '</td><td class="dim">' + span(now - w.read_at) + " ago</td></tr>"; });
  }).join("");
}
function render(d) {
  set("requests", d.totals.requests); set("errors", d.totals.errors); set("inflight", d.totals.inflight);
  set("rate", d.rate_per_min); set("retries", d.totals.retries); set("fallbacks", d.totals.fallbacks);
  set("failed_attempts", d.totals.failed_attempts); set("ready", d.ready);
  set("ttft_p50", ms(d.ttft_hour.p50)); set("ttft_p95", ms(d.ttft_hour.p95)); set("ttft_p99", ms(d.ttft_hour.p99));
  set("profile", d.profile); set("port", d.port); set("updated", new Date(d.now).toLocaleTimeString());
  set("demo", d.demo ? "DEMO: a simulated upstream answers (ccp demo); nothing reaches a provider" : "");
  $("#lanes").innerHTML = d.lanes.map((l) => '<tr data-lane="' + esc(l.name) + '"><td>' + esc(l.name) + '</td><td data-k="protocol">' + esc(l.protocol) +
    '</td><td><span class="pill ' + esc(l.state) + '" data-k="state">' + esc(l.state) + (l.failure_class ? " · " + esc(l.failure_class) : "") +
    '</span></td><td data-k="lane_requests">' + l.requests + '</td><td data-k="lane_errors">' + l.errors +
    '</td><td data-k="lane_failed_attempts">' + l.failed_attempts + '</td><td data-k="queue">' + l.queue_depth + "</td></tr>").join("");
  set("reroutes", d.totals.reroutes);
  $("#quota").innerHTML = quotaRows(d.quota, d.now) || '<tr><td colspan="8" class="dim">no plan reading yet (readings come with answers, or from the quota endpoints)</td></tr>';
  chart(d.minutes);
  $("#recent").innerHTML = d.recent.map((r) => { const fail = r.status >= 400 || r.failure_class;
    return '<tr class="' + (fail ? "fail" : "") + '" data-rid="' + esc(r.rid) + '"><td>' + esc(new Date(r.ts).toLocaleTimeString()) +
    "</td><td>" + esc(r.lane) + "</td><td>" + esc(r.model) + "</td><td>" + esc(r.protocol) + '</td><td class="st">' + r.status + "</td><td>" + ms(r.ttft_ms) + "</td><td>" + ms(r.latency_ms) +
    "</td><td>" + r.attempts + "</td><td>" + esc(r.failure_class || r.err_type || "") + (r.capture ? " 📎" : "") + '</td><td class="dim">' + esc(r.rid) + "</td></tr>"; }).join("") ||
    '<tr><td colspan="10" class="dim">no requests in the last hour</td></tr>';
  document.body.dataset.loaded = String(d.totals.requests);
}
let failures = 0;
async function tick() {
  try { const res = await fetch("dashboard/data", { cache: "no-store" }); render(await res.json()); failures = 0; set("stale", ""); }
  catch { failures++; set("stale", "ccp is not answering (" + failures + ")"); }
}
tick(); setInterval(tick, 2000);
`;

/**
 * The page's one script, allowed by its hash (CSP Level 2): no other inline script runs, so
 * markup that slipped through the escaping could not run code of its own.
 */
export const DASHBOARD_SCRIPT_HASH = `sha256-${new Bun.CryptoHasher("sha256").update(SCRIPT).digest("base64")}`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>ccp dashboard</title><style>${STYLE}</style></head>
<body>
<header><h1>ccp</h1><span class="dim">profile <span data-k="profile">-</span> · port <span data-k="port">-</span> · <span data-k="ready">-</span> · updated <span data-k="updated">-</span></span>
<span id="demo" data-k="demo"></span> <span id="stale" data-k="stale"></span></header>
<main>
<section class="kpis">
 <div class="kpi"><span class="dim">requests</span><b data-k="requests">-</b></div>
 <div class="kpi"><span class="dim">errors</span><b data-k="errors">-</b></div>
 <div class="kpi"><span class="dim">in flight</span><b data-k="inflight">-</b></div>
 <div class="kpi"><span class="dim">req/min (5 min)</span><b data-k="rate">-</b></div>
 <div class="kpi"><span class="dim">ttft p50 (1 h)</span><b data-k="ttft_p50">-</b></div>
 <div class="kpi"><span class="dim">ttft p95</span><b data-k="ttft_p95">-</b></div>
 <div class="kpi"><span class="dim">ttft p99</span><b data-k="ttft_p99">-</b></div>
 <div class="kpi"><span class="dim">retries</span><b data-k="retries">-</b></div>
 <div class="kpi"><span class="dim">fallbacks</span><b data-k="fallbacks">-</b></div>
 <div class="kpi"><span class="dim">reroutes</span><b data-k="reroutes">-</b></div>
 <div class="kpi"><span class="dim">failed attempts</span><b data-k="failed_attempts">-</b></div>
</section>
<section class="lanes"><h2>Lanes</h2><table>
<thead><tr><th>lane</th><th>protocol</th><th>health</th><th>requests</th><th>errors</th><th>failed attempts</th><th>queue</th></tr></thead><tbody id="lanes"></tbody></table></section>
<section class="chart"><h2>Time to first token, per minute, last hour</h2>
<div class="legend"><span><i style="background:#58a6ff"></i>p50</span><span><i style="background:#d29922"></i>p95</span><span><i style="background:#f85149"></i>p99</span></div>
<svg id="chart" viewBox="0 0 640 200" width="100%" role="img" aria-label="ttft percentiles per minute"></svg></section>
<section class="quota"><h2>Plans</h2><table>
<thead><tr><th>lane</th><th>credential</th><th>window</th><th>used</th><th>resets in</th><th>status</th><th>source</th><th>read</th></tr></thead><tbody id="quota"></tbody></table></section>
<section class="recent"><h2>Recent requests</h2><table>
<thead><tr><th>time</th><th>lane</th><th>model</th><th>protocol</th><th>status</th><th>ttft</th><th>duration</th><th>attempts</th><th>failure</th><th>rid</th></tr></thead>
<tbody id="recent"></tbody></table></section>
</main>
<script>${SCRIPT}</script>
</body></html>
`;
