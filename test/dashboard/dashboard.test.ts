import { readFileSync } from 'node:fs'
import { get as httpGet, type IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import t from 'tap'
import { createResponseCache, OptionError } from '../../src/index.js'
import { createDashboard } from '../../src/dashboard/index.js'
import { eventually } from '../cache/harness.js'
import { dashboardApp } from './support.js'

t.test('the snapshot counts hits, stale, misses and bypasses per route, with latencies and the store state', async (t) => {
  const app = await dashboardApp(t)
  for (const path of ['/alpha', '/alpha', '/alpha', '/beta', '/beta']) await app.get(path)
  t.equal((await app.get('/alpha', { cookie: 'x=1' })).xcache, 'BYPASS')
  const view = await app.json('/dashboard/snapshot')
  t.same(view.routes.map((r: { route: string }) => r.route), ['alpha', 'beta'])
  const [route, beta] = view.routes
  t.match(route, { hits: 2, stale: 0, misses: 1, bypass: 1, computations: 1 })
  t.match(beta, { hits: 1, misses: 1, bypass: 0, computations: 1 })
  t.equal(route.hitRate, 2 / 3)
  t.type(route.lookupP50, 'number', 'lookup p50 from the hits')
  t.ok(route.lookupP99 >= route.lookupP50)
  t.ok(route.computeP50 > 0 && route.computeP99 >= route.computeP50, 'compute percentiles')
  t.ok(route.lastComputeMs > 0)
  t.equal(route.lastComputeAt, app.clock.now())
  const health = await app.cache.health()
  t.match(view.totals, { hits: health.hits, misses: health.misses, bypass: health.bypass, stale: health.stale })
  t.match(view.store, { backend: health.backend, circuit: 'closed', degraded: false, status: 'ok' })
  t.same(view.alerts, [])
})

t.test('rates are per second between snapshots, and one snapshot serves every viewer within a second', async (t) => {
  const app = await dashboardApp(t)
  const first = await app.json('/dashboard/snapshot')
  const again = await app.json('/dashboard/snapshot')
  t.equal(again.at, first.at, 'the same snapshot')
  await app.get('/alpha')
  t.equal((await app.json('/dashboard/snapshot')).routes.length, 0, 'still the shared snapshot')
  app.clock.advance(2000)
  for (let i = 0; i < 4; i++) await app.get('/alpha')
  const later = await app.json('/dashboard/snapshot')
  t.equal(later.at, first.at + 2000)
  t.same(later.routes[0].rates, { hits: 4 / 2, stale: 0, misses: 1 / 2, bypass: 0 }, 'answers per second over the 2 s between snapshots')
})

t.test('the event stream sends frames while a viewer is connected; its timer stops when the last one leaves', async (t) => {
  const app = await dashboardApp(t, { dashboard: { streamMs: 50 } })
  await app.get('/alpha')
  t.equal(app.dashboard.streaming, false, 'no timer before a viewer')
  const { response, frames, stop } = await openStream(`${app.base}/dashboard/events`)
  t.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.ok(await eventually(() => frames.length >= 2), 'frames keep coming')
  const frame = JSON.parse(frames[0]!)
  t.match(frame.routes[0], { route: 'alpha', misses: 1 })
  t.equal(app.dashboard.viewers, 1)
  t.equal(app.dashboard.streaming, true)
  const second = await openStream(`${app.base}/dashboard/events`)
  t.equal(app.dashboard.viewers, 2)
  stop()
  t.ok(await eventually(() => app.dashboard.viewers === 1), 'a closed tab is forgotten')
  t.equal(app.dashboard.streaming, true, 'one viewer left')
  second.stop()
  t.ok(await eventually(() => app.dashboard.viewers === 0 && !app.dashboard.streaming), 'the timer stops with the last viewer')
  t.same(app.errors, [], 'a viewer leaving is not an app error')
})

t.test('close() ends open streams, so a server can drain', async (t) => {
  const app = await dashboardApp(t)
  const { ended } = await openStream(`${app.base}/dashboard/events`)
  app.dashboard.close()
  await ended
  t.equal(app.dashboard.viewers, 0)
})

t.test('the cache emits lookups only while a dashboard (or another listener) is attached', async (t) => {
  const cache = createResponseCache()
  t.teardown(() => cache.close())
  t.equal(cache.listenerCount('lookup'), 0)
  const dashboard = createDashboard(cache)
  t.equal(cache.listenerCount('lookup'), 1)
  dashboard.close()
  t.equal(cache.listenerCount('lookup'), 0, 'nothing left on the hit path')
  t.equal(cache.listenerCount('circuit'), 0)
})

t.test('the page and its scripts come from the package: no outside address', async (t) => {
  const app = await dashboardApp(t)
  const page = await app.get('/dashboard')
  t.equal(page.status, 200)
  t.match(page.type, /text\/html/)
  const sources = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])
  t.same(sources.sort(), ['/dashboard/assets/dashboard.css', '/dashboard/assets/dashboard.js', '/dashboard/assets/uplot.css', '/dashboard/assets/uplot.js'])
  const uplot = await app.get('/dashboard/assets/uplot.js')
  const file = createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js')
  t.equal(uplot.text, readFileSync(file, 'utf8'), 'uPlot served from node_modules')
  const script = await app.get('/dashboard/assets/dashboard.js')
  t.notMatch(script.text, /https?:\/\//, 'the page script names no host')
  t.equal((await app.get('/dashboard/assets/nope.js')).status, 404)
  t.equal((await app.get('/dashboard/assets/__proto__')).status, 404)
  t.equal((await app.get('/dashboards')).status, 404, 'only its own path')
})

t.test('bad options fail at construction with the option named', async (t) => {
  const cache = createResponseCache()
  t.teardown(() => cache.close())
  const bad: Array<[object, string]> = [
    [{ path: 'dashboard' }, 'path'],
    [{ path: '/dashboard/' }, 'path'],
    [{ streamMs: 0 }, 'streamMs'],
    [{ alerts: { hitRate: { below: 2 } } }, 'alerts.hitRate.below'],
    [{ alerts: { hitRate: { bellow: 0.2 } } }, 'alerts.hitRate.bellow'],
    [{ alerts: { cpu: false } }, 'alerts.cpu'],
    [{ webhook: { url: 'ftp://example' } }, 'webhook.url'],
    [{ webhook: { url: 'http://127.0.0.1:1/', retries: -1 } }, 'webhook.retries'],
  ]
  for (const [options, option] of bad) {
    let thrown: unknown
    try {
      createDashboard(cache, options)
    } catch (error) {
      thrown = error
    }
    t.ok(thrown instanceof OptionError, `${option}: an OptionError`)
    t.match(thrown, { code: 'E_OPTION', option }, option)
  }
  t.equal(cache.listenerCount('lookup'), 0, 'a refused dashboard leaves no listener behind')
})

/** Opens an SSE stream and collects its data frames. */
async function openStream(url: string): Promise<{ response: IncomingMessage; frames: string[]; stop(): void; ended: Promise<void> }> {
  const frames: string[] = []
  const request = httpGet(url)
  const response = await new Promise<IncomingMessage>((resolve, reject) => request.once('response', resolve).once('error', reject))
  let buffered = ''
  response.setEncoding('utf8')
  response.on('data', (chunk: string) => {
    buffered += chunk
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const block = buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
      const data = block.split('\n').find((line) => line.startsWith('data: '))
      if (data && !block.startsWith('event:')) frames.push(data.slice(6))
    }
  })
  const ended = new Promise<void>((resolve) => response.once('end', resolve).once('close', resolve))
  return { response, frames, stop: () => request.destroy(), ended }
}
