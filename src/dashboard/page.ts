/**
 * The dashboard page: markup, script and styles, kept as strings so that the
 * compiled package carries them with no copy step. The script talks only to the
 * dashboard's own endpoints (base path from the body's data-base).
 */
export function pageHtml(base: string): string {
  const b = escapeHtml(base)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cache dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${b}/assets/uplot.css"><link rel="stylesheet" href="${b}/assets/dashboard.css">
</head><body data-base="${b}">
<header><h1>Cache dashboard</h1><span id="status" class="badge">connecting</span><span id="updated"></span></header>
<section class="cards">
  <div class="card"><h2>Hit rate</h2><div id="hit-rate" class="big">-</div><small>hits and stale answers over cacheable lookups</small></div>
  <div class="card"><h2>Store</h2><dl id="store">
    <dt>backend</dt><dd id="store-backend">-</dd><dt>circuit</dt><dd id="store-circuit">-</dd>
    <dt>degraded</dt><dd id="store-degraded">-</dd><dt>read-only</dt><dd id="store-readonly">-</dd>
    <dt>role</dt><dd id="store-role">-</dd><dt>keys</dt><dd id="store-keys">-</dd>
    <dt>memory</dt><dd id="store-memory">-</dd><dt>store errors</dt><dd id="store-errors">-</dd></dl></div>
  <div class="card"><h2>Alerts firing</h2><ul id="alerts"><li class="none">none</li></ul></div>
</section>
<section><h2>Routes</h2><table id="routes"><thead><tr><th>route</th><th>hits</th><th>stale</th><th>misses</th><th>bypass</th>
<th>hit rate</th><th>req/s</th><th>lookup p50 / p99 (ms)</th><th>compute p50 / p99 (ms)</th><th>last compute (ms)</th></tr></thead><tbody></tbody></table></section>
<section class="charts"><div><h2>Live: answers per second</h2><div id="chart-rates"></div></div>
<div><h2>Live: latency (ms)</h2><div id="chart-latency"></div></div></section>
<section><h2>History <button data-span="60" class="on">last hour</button><button data-span="1440">last day</button></h2>
<div class="charts"><div id="chart-history"></div><div id="chart-history-latency"></div></div></section>
<section><h2>Recent events</h2><ul id="feed"><li class="none">none yet</li></ul></section>
<script src="${b}/assets/uplot.js"></script><script src="${b}/assets/dashboard.js"></script>
</body></html>`
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export const PAGE_STYLE = `
body{font:14px system-ui,sans-serif;margin:0 1.5rem 2rem;color:#1d2430;background:#f6f7f9}
header{display:flex;gap:1rem;align-items:baseline}h1{font-size:1.4rem}h2{font-size:1rem;margin:.8rem 0 .4rem}
.badge{padding:.1rem .5rem;border-radius:.6rem;background:#ccc}.badge.ok{background:#bde5c8}.badge.degraded{background:#f5c2c0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}
.card{background:#fff;border-radius:.4rem;padding:.6rem 1rem;box-shadow:0 1px 2px #0002}
.big{font-size:2.2rem;font-weight:600}dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem 1rem;margin:0}dt{color:#667}dd{margin:0}
table{border-collapse:collapse;background:#fff;width:100%}th,td{padding:.3rem .6rem;border-bottom:1px solid #e3e5e8;text-align:right}
th:first-child,td:first-child{text-align:left}.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(28rem,1fr));gap:1rem}
ul{padding-left:1.2rem;margin:.2rem 0}li.alert{color:#a0201a}li.resolved{color:#2b7a3d}li.none{color:#889;list-style:none}
button{margin-left:.5rem;font-size:.8rem}button.on{font-weight:700}
`

export const PAGE_SCRIPT = `(() => {
'use strict'
const base = document.body.dataset.base
const $ = (id) => document.getElementById(id)
const fmt = (n, d = 1) => n === null || n === undefined ? '-' : Number(n).toFixed(d)
const pct = (r) => r === null || r === undefined ? '-' : (r * 100).toFixed(1) + '%'
const LIVE = 600
const live = { t: [], hits: [], stale: [], misses: [], lookup: [], compute: [] }
const opts = (title, series) => ({ width: 560, height: 220, title, series: [{}, ...series], axes: [{}, {}] })
const rates = new uPlot(opts('', [{ label: 'hits/s', stroke: '#2b7a3d' }, { label: 'stale/s', stroke: '#c49000' }, { label: 'misses/s', stroke: '#a0201a' }]), [[], [], [], []], $('chart-rates'))
const latency = new uPlot(opts('', [{ label: 'lookup p99', stroke: '#1f5fa8' }, { label: 'compute p99', stroke: '#7a2b74' }]), [[], [], []], $('chart-latency'))
const history = new uPlot(opts('per minute', [{ label: 'hits', stroke: '#2b7a3d' }, { label: 'stale', stroke: '#c49000' }, { label: 'misses', stroke: '#a0201a' }]), [[], [], [], []], $('chart-history'))
const historyLatency = new uPlot(opts('worst route, ms', [{ label: 'lookup p99', stroke: '#1f5fa8' }, { label: 'compute p99', stroke: '#7a2b74' }]), [[], [], []], $('chart-history-latency'))
let span = 60

function list(el, items, render) {
  el.replaceChildren(...(items.length ? items.map(render) : [Object.assign(document.createElement('li'), { className: 'none', textContent: 'none' })]))
}

function row(r) {
  const tr = document.createElement('tr')
  tr.dataset.route = r.route
  const cells = [r.route, r.hits, r.stale, r.misses, r.bypass, pct(r.hitRate), fmt(r.rates.hits + r.rates.stale + r.rates.misses + r.rates.bypass),
    fmt(r.lookupP50, 2) + ' / ' + fmt(r.lookupP99, 2), fmt(r.computeP50, 0) + ' / ' + fmt(r.computeP99, 0), fmt(r.lastComputeMs, 0)]
  const names = ['route', 'hits', 'stale', 'misses', 'bypass', 'hit-rate', 'rate', 'lookup', 'compute', 'last-compute']
  cells.forEach((c, i) => { const td = document.createElement('td'); td.textContent = String(c); td.dataset.field = names[i]; tr.append(td) })
  return tr
}

function render(v) {
  const s = v.store
  $('status').textContent = s.status
  $('status').className = 'badge ' + s.status
  $('updated').textContent = 'updated ' + new Date(v.at).toLocaleTimeString()
  $('hit-rate').textContent = pct(v.totals.hitRate)
  $('store-backend').textContent = s.backend + ' (' + s.serving + ')'
  $('store-circuit').textContent = s.circuit
  $('store-degraded').textContent = String(s.degraded)
  $('store-readonly').textContent = String(s.readOnly)
  $('store-role').textContent = s.role ?? '-'
  $('store-keys').textContent = s.keys_count === null ? '-' : String(s.keys_count)
  $('store-memory').textContent = s.memory_usage ? (s.memory_usage.used / 1048576).toFixed(1) + ' MiB of ' + (s.memory_usage.max ? (s.memory_usage.max / 1048576).toFixed(0) + ' MiB' : 'no maxmemory') : '-'
  $('store-errors').textContent = String(v.storeErrors)
  $('routes').tBodies[0].replaceChildren(...v.routes.map(row))
  list($('alerts'), v.alerts, (a) => Object.assign(document.createElement('li'), { className: 'alert', textContent: a.name + ': ' + a.message }))
  list($('feed'), v.feed.slice(0, 30), (e) => Object.assign(document.createElement('li'), { className: e.kind, textContent: new Date(e.at).toLocaleTimeString() + ' ' + e.message }))
  const worst = (key) => v.routes.reduce((w, r) => r[key] === null ? w : Math.max(w ?? 0, r[key]), null)
  const sum = (key) => v.routes.reduce((n, r) => n + r.rates[key], 0)
  live.t.push(v.at / 1000); live.hits.push(sum('hits')); live.stale.push(sum('stale')); live.misses.push(sum('misses'))
  live.lookup.push(worst('lookupP99')); live.compute.push(worst('computeP99'))
  for (const k in live) if (live[k].length > LIVE) live[k].shift()
  rates.setData([live.t, live.hits, live.stale, live.misses])
  latency.setData([live.t, live.lookup, live.compute])
}

async function loadHistory() {
  const res = await fetch(base + '/history')
  if (!res.ok) return
  const samples = (await res.json()).samples.slice(-span)
  const col = (k) => samples.map((s) => s[k])
  history.setData([samples.map((s) => s.at / 1000), col('hits'), col('stale'), col('misses')])
  historyLatency.setData([samples.map((s) => s.at / 1000), col('lookupP99'), col('computeP99')])
}

document.querySelectorAll('button[data-span]').forEach((b) => b.addEventListener('click', () => {
  span = Number(b.dataset.span)
  document.querySelectorAll('button[data-span]').forEach((o) => o.classList.toggle('on', o === b))
  void loadHistory()
}))

const events = new EventSource(base + '/events')
events.onmessage = (e) => render(JSON.parse(e.data))
events.onerror = () => { $('status').textContent = 'reconnecting'; $('status').className = 'badge' }
void loadHistory()
setInterval(loadHistory, 60000)
})()
`
