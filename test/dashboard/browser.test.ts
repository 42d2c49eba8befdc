/**
 * The dashboard in a real headless Chromium: the energy service on a real Redis, hits and misses,
 * then the page's numbers against /health and /metrics, an outage alert appearing and resolving,
 * and no request leaving the service. Saves a screenshot under test-output/.
 */
import { mkdirSync } from 'node:fs'
import t from 'tap'
import { chromium, type Page } from 'playwright-core'
import { findChromium } from '../support/ensure-chromium.js'
import { redisFor } from '../support/redis.js'
import { metricSum, request, ROOT, serveInProcess, waitFor } from '../energy/support.js'

const chromiumFound = findChromium()
const OUTPUT = `${ROOT}test-output/`

t.test('the dashboard page in Chromium', { skip: 'skip' in chromiumFound ? chromiumFound.skip : false }, async (t) => {
  const redis = await redisFor(t)
  const { base, energy } = await serveInProcess(t, { REDIS_URL: redis.url, ALERT_DEGRADED_S: '1', ALERT_EVALUATE_MS: '200' })
  for (const path of ['/energy/monitor', '/energy/monitor', '/energy/monitor', '/energy/gradient', '/energy/gradient']) {
    t.equal((await request(base, path)).status, 200)
  }

  const browser = await chromium.launch({ executablePath: (chromiumFound as { path: string }).path, args: ['--no-sandbox', '--headless=new'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } })
  const own = new URL(base).host
  const foreign: string[] = []
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url())
    if (url.host === own) return route.continue()
    foreign.push(url.href)
    return route.abort()
  })
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))

  await page.goto(`${base}/dashboard`)
  const health = (await request(base, '/health')).json
  const metrics = (await request(base, '/metrics')).text
  const cell = (route: string, field: string): Promise<string> => text(page, `tr[data-route="${route}"] td[data-field="${field}"]`)
  await page.waitForSelector('tr[data-route="monitor"]')
  const hits = metricSum(metrics, 'cache_lookup_duration_seconds_count', { route: 'monitor', result: 'HIT' })
  t.equal(hits, 2)
  t.equal(Number(await cell('monitor', 'hits')), hits, 'monitor hits as /metrics counts them')
  t.equal(Number(await cell('monitor', 'misses')), metricSum(metrics, 'cache_lookup_duration_seconds_count', { route: 'monitor', result: 'MISS' }))
  t.equal(Number(await cell('gradient', 'hits')), metricSum(metrics, 'cache_lookup_duration_seconds_count', { route: 'gradient', result: 'HIT' }))
  t.equal(await text(page, '#hit-rate'), `${(health.hit_rate * 100).toFixed(1)}%`, 'hit rate as /health gives it')
  t.equal(await text(page, '#store-circuit'), health.circuit)
  t.equal(await text(page, '#store-degraded'), String(health.degraded))
  t.equal(await text(page, '#store-keys'), String(health.keys_count))
  t.match(await text(page, '#store-backend'), /^redis/)

  await redis.kill()
  // Requests find Redis gone; the circuit opens after a few failed operations.
  await waitFor('the circuit to open', async () => {
    await request(base, '/energy/calibrate')
    return (await request(base, '/health')).json.degraded === true
  }, 30_000)
  await page.waitForSelector('#alerts li.alert', { timeout: 30_000 })
  t.match(await text(page, '#alerts'), /degraded: cache store degraded/, 'the alert is on the page')
  t.match(await text(page, '#feed'), /degraded: cache store degraded/, 'and in the event feed')
  t.equal(await text(page, '#store-degraded'), 'true')
  mkdirSync(OUTPUT, { recursive: true })
  await page.screenshot({ path: `${OUTPUT}dashboard-alert.png`, fullPage: true })

  await redis.restart()
  await page.waitForSelector('#alerts li.none', { timeout: 30_000 })
  t.match(await text(page, '#feed'), /resolved: cache store degraded/, 'resolved in the feed')
  t.equal((await request(base, '/health')).json.degraded, false)
  await page.screenshot({ path: `${OUTPUT}dashboard.png`, fullPage: true })
  t.same(foreign, [], 'no request left the service')
  t.same(errors, [], 'no script error')
  t.ok((energy.dashboard?.viewers ?? 0) >= 1, 'the page holds a live stream')
})

function text(page: Page, selector: string): Promise<string> {
  return page.locator(selector).innerText()
}
