/**
 * The energy service mounts the dashboard at /dashboard: figures that agree with /health and
 * /metrics, the switch and the alert variables, and a shutdown that open streams do not hold.
 */
import { get as httpGet } from 'node:http'
import t from 'tap'
import { ConfigError } from '../../src/cache/errors.js'
import { loadConfig } from '../../src/energy/config.js'
import { manualClock, metricSum, request, serveInProcess, waitFor } from './support.js'

t.test('GET /dashboard: the page, and a snapshot whose numbers are the ones /health and /metrics give', async (t) => {
  const clock = manualClock()
  const { base } = await serveInProcess(t, {}, { clock: clock.now })
  t.equal((await request(base, '/energy/monitor')).headers.get('x-cache'), 'MISS')
  t.equal((await request(base, '/energy/monitor')).headers.get('x-cache'), 'HIT')
  t.equal((await request(base, '/energy/monitor')).headers.get('x-cache'), 'HIT')
  const page = await request(base, '/dashboard')
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /text\/html/)
  t.equal((await request(base, '/dashboard/assets/uplot.js')).status, 200)
  const view = (await request(base, '/dashboard/snapshot')).json
  const health = (await request(base, '/health')).json
  const metrics = (await request(base, '/metrics')).text
  const monitor = view.routes.find((r: { route: string }) => r.route === 'monitor')
  t.match(monitor, { hits: 2, misses: 1, computations: 1 })
  t.equal(monitor.hits, metricSum(metrics, 'cache_lookup_duration_seconds_count', { route: 'monitor', result: 'HIT' }))
  t.equal(monitor.misses, metricSum(metrics, 'cache_lookup_duration_seconds_count', { route: 'monitor', result: 'MISS' }))
  t.equal(monitor.computations, metricSum(metrics, 'cache_compute_duration_seconds_count', { route: 'monitor' }))
  t.match(view.store, { backend: health.backend, status: health.status, circuit: health.circuit, degraded: health.degraded })
  t.match(view.totals, { hits: health.hits, misses: health.misses, stale: health.stale, computations: health.computations })
  t.equal((await request(base, '/dashboard/nope/deeper')).status, 404)
})

t.test('an admin invalidation is a line in the dashboard feed', async (t) => {
  const token = 'admin-admin-admin-admin'
  const { base } = await serveInProcess(t, { ADMIN_TOKEN: token })
  await request(base, '/energy/monitor')
  t.equal((await request(base, '/cache/monitor', { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status, 200)
  const view = (await request(base, '/dashboard/snapshot')).json
  t.match(view.feed[0], { kind: 'note', message: /^monitor invalidated by an admin: \d+ keys removed$/ })
})

t.test('close() ends open dashboard streams instead of waiting on them', async (t) => {
  const { energy, base } = await serveInProcess(t)
  const ended = new Promise<void>((resolve) => {
    httpGet(`${base}/dashboard/events`, (response) => {
      response.resume()
      response.once('close', resolve)
    })
  })
  await waitFor('a viewer', async () => energy.dashboard?.viewers === 1)
  await energy.close()
  await ended
  t.pass('closed with a viewer connected')
})

t.test('DASHBOARD=off removes it; ALERT_* variables are checked at start-up', async (t) => {
  const { base } = await serveInProcess(t, { DASHBOARD: 'off' })
  t.equal((await request(base, '/dashboard')).status, 404)
  t.match(loadConfig({ ALERT_WEBHOOK_URL: 'https://hooks.example/x', ALERT_DEGRADED_S: '5' }).dashboard, { webhookUrl: 'https://hooks.example/x', degradedAfterS: 5 })
  for (const [name, value] of [['ALERT_WEBHOOK_URL', 'hooks.example/x'], ['ALERT_DEGRADED_S', '-1'], ['ALERT_EVALUATE_MS', '5'], ['DASHBOARD', 'maybe']]) {
    let thrown: unknown
    try {
      loadConfig({ [name!]: value! })
    } catch (error) {
      thrown = error
    }
    t.ok(thrown instanceof ConfigError, `${name}=${value} refused`)
    t.equal((thrown as ConfigError).variable, name)
  }
})
