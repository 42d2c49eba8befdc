/**
 * The energy service in process (createEnergyServer), against real Redis and against no Redis:
 * cache behaviour per endpoint, response shapes, /health, /metrics, admin, logs.
 */
import { Writable } from 'node:stream'
import t from 'tap'
import { Redis } from 'ioredis'
import { bucketOf } from '../../src/index.js'
import { createLogger } from '../../src/energy/server.js'
import { ENERGY_ROUTES } from '../../src/energy/routes.js'
import { redisFor } from '../support/redis.js'
import { manualClock, metricSum, nonFinite, request, serveInProcess, shapeProblems, SHAPES, waitFor } from './support.js'
import { engineOf } from '../../src/cache/engine.js'

const AGENTS = 48

for (const backend of ['memory', 'redis'] as const) {
  t.test(`${backend}: MISS then HIT with the same body, reference shapes, health and metrics`, async (t) => {
    const redis = backend === 'redis' ? await redisFor(t) : undefined
    const clock = manualClock()
    const env: Record<string, string> = redis ? { REDIS_URL: redis.url } : {}
    const { base, energy } = await serveInProcess(t, env, { clock: clock.now })
    const client = redis ? new Redis(redis.url, { lazyConnect: true }) : undefined
    if (client) t.teardown(() => client.quit())
    if (redis) await energy.cache.clear() // a shared TEST_REDIS_URL may hold earlier buckets

    for (const { name, window } of ENERGY_ROUTES) {
      const first = await request(base, `/energy/${name}`)
      t.equal(first.status, 200, `${name}: 200`)
      t.equal(first.headers.get('x-cache'), 'MISS', `${name}: first request computed`)
      t.match(first.headers.get('server-timing'), /^compute;dur=\d/, `${name}: the computation's time is reported`)
      t.match(first.headers.get('content-type'), /^application\/json/)
      t.same(shapeProblems(first.json, SHAPES[name]), [], `${name}: the reference's fields and types`)
      t.same(nonFinite(first.json), [], `${name}: every number finite`)

      const second = await request(base, `/energy/${name}`)
      t.equal(second.headers.get('x-cache'), 'HIT', `${name}: second request from the cache`)
      t.equal(second.text, first.text, `${name}: byte for byte the same body`)
      t.equal(second.headers.get('etag'), first.headers.get('etag'))
      t.equal(second.headers.get('server-timing'), null, `${name}: nothing computed for the hit`)
      t.match(second.headers.get('cache-control'), /^public, max-age=\d+, stale-while-revalidate=\d+$/)

      const busted = await request(base, `/energy/${name}?_=${Math.random()}`)
      t.equal(busted.headers.get('x-cache'), 'HIT', `${name}: a cache-busting query parameter shares the entry`)

      if (client) {
        const key = `energy:${name}:${bucketOf(clock.now(), window)}`
        const ttl = await waitFor(`${key} in Redis`, async () => {
          const pttl = await client.pttl(key)
          return pttl > 0 ? pttl : undefined
        })
        t.ok(ttl <= 2 * window * 1000, `${key} expires within bucket + stale period (${ttl} ms)`)
      }
    }

    const gradient = (await request(base, '/energy/gradient')).json
    t.equal(gradient.real_time_metrics.total_agents, AGENTS, 'ENERGY_AGENTS sizes the population')
    t.same({ ...gradient.breakdown, entropy: 0, total: 0 }, { ...gradient.E_terms, entropy: 0, total: 0 }, 'breakdown differs only in its (natural-log) entropy and the total')
    const { pair, hyper, entropy, reg, mem, total } = gradient.E_terms
    t.ok(Math.abs(pair + hyper + entropy + reg + mem - total) < 1e-9, 'total is the sum of the five terms')
    t.ok(gradient.agent_summaries.length <= 5)
    const calibrate = (await request(base, '/energy/calibrate')).json
    t.equal(calibrate.calibration_metrics.total_tasks, calibrate.task_results.length, 'the successful tasks, counted and listed')

    // /health reads the store at most once a second (a snapshot shared with the dashboard).
    const health = await waitFor('/health to count the three entries', async () => {
      const answer = await request(base, '/health')
      return answer.json?.keys_count === 3 ? answer : undefined
    })
    t.equal(health.status, 200)
    t.equal(health.headers.get('cache-control'), 'no-store')
    t.match(health.json, {
      status: 'ok',
      backend,
      degraded: false,
      circuit: 'closed',
      readOnly: false,
      role: backend === 'redis' ? 'master' : null,
      memory_usage: { used: Number, max: Number, policy: String },
      hit_rate: Number,
      uptime: Number,
    })
    t.equal(health.json.keys_count, 3, 'one key per endpoint')
    t.same(health.json.nodes_down, [], 'no Cluster master down')
    t.equal(health.json.misses, 3)
    t.ok(health.json.hit_rate > 0.5, `hit rate ${health.json.hit_rate}`)
    if (backend === 'redis') t.equal(health.json.memory_usage.policy, 'noeviction', 'the Redis server\'s own policy')

    const metrics = await request(base, '/metrics')
    t.equal(metrics.status, 200)
    t.match(metrics.headers.get('content-type'), /^text\/plain/)
    const text = metrics.text
    t.equal(metricSum(text, 'http_requests_total', { route: '/energy/gradient', cache: 'MISS' }), 1)
    t.equal(metricSum(text, 'http_requests_total', { route: '/energy/gradient', cache: 'HIT' }), 3)
    t.equal(metricSum(text, 'http_requests_total', { route: '/energy/calibrate', status: '200' }), 4)
    t.equal(metricSum(text, 'cache_lookup_duration_seconds_count', { route: 'monitor', result: 'HIT' }), 2)
    t.equal(metricSum(text, 'cache_compute_duration_seconds_count', { route: 'gradient', reason: 'miss', outcome: 'ok' }), 1)
    t.equal(metricSum(text, 'cache_circuit_state', { state: 'closed' }), 1)
    t.equal(metricSum(text, 'cache_circuit_state', { state: 'open' }), 0)
    // Zero on a quiet machine; a store operation past its 150 ms budget under heavy load counts too.
    t.equal(metricSum(text, 'cache_store_errors_total'), engineOf(energy.cache).stats.storeErrors, 'store errors as the cache counts them')
    t.match(text, /^process_cpu_user_seconds_total /m, 'default process metrics')
    t.match(text, /^nodejs_eventloop_lag_seconds /m)

    const again = await request(base, '/metrics')
    t.equal(metricSum(again.text, 'http_requests_total', { route: '/metrics' }), 1, 'the counters move')
  })
}

t.test('two servers in one process keep separate metrics', async (t) => {
  const a = await serveInProcess(t)
  const b = await serveInProcess(t)
  await request(a.base, '/energy/monitor')
  const inA = (await request(a.base, '/metrics')).text
  const inB = (await request(b.base, '/metrics')).text
  t.equal(metricSum(inA, 'http_requests_total', { route: '/energy/monitor' }), 1)
  t.equal(metricSum(inB, 'http_requests_total', { route: '/energy/monitor' }), 0)
})

t.test('admin: 404 while ADMIN_TOKEN is unset', async (t) => {
  const { base } = await serveInProcess(t)
  t.equal((await request(base, '/cache', { method: 'DELETE' })).status, 404)
  t.equal((await request(base, '/cache/gradient', { method: 'DELETE', headers: { authorization: 'Bearer x' } })).status, 404)
})

t.test('admin: bearer token, invalidate one route, clear all', async (t) => {
  const redis = await redisFor(t)
  const token = 'tok-' + 'x'.repeat(20)
  const { base, energy } = await serveInProcess(t, { REDIS_URL: redis.url, ADMIN_TOKEN: token }, { clock: manualClock().now })
  await energy.cache.clear()
  const del = (path: string, authorization?: string) =>
    request(base, path, { method: 'DELETE', ...(authorization !== undefined && { headers: { authorization } }) })

  const none = await del('/cache')
  t.equal(none.status, 401, 'no token')
  t.match(none.headers.get('www-authenticate'), /^Bearer/)
  t.equal((await del('/cache', `Bearer ${token}x`)).status, 401, 'longer token')
  t.equal((await del('/cache', `Bearer ${token.slice(0, -1)}`)).status, 401, 'shorter token')
  t.equal((await del('/cache', 'Bearer ')).status, 401, 'empty token')
  t.equal((await del('/cache', `Basic ${token}`)).status, 401, 'other scheme')
  t.equal((await del('/cache/gradient', 'Bearer nope')).status, 401, 'wrong token on a route')

  for (const name of ['gradient', 'monitor']) await request(base, `/energy/${name}`)
  t.equal((await request(base, '/energy/gradient')).headers.get('x-cache'), 'HIT')
  // A computation's flight (and its store lock, a key under the route's prefix) ends once its
  // store write lands, which may be just after the client has the answer.
  await waitFor('the computations to settle', async () => engineOf(energy.cache).flights.size === 0)

  const invalidated = await del('/cache/gradient', `bearer ${token}`)
  t.equal(invalidated.status, 200, 'the scheme is case-insensitive')
  t.same(invalidated.json, { invalidated: 'gradient', removed: 1, partial: false })
  t.equal((await request(base, '/energy/gradient')).headers.get('x-cache'), 'MISS', 'gradient recomputed after invalidation')
  t.equal((await request(base, '/energy/monitor')).headers.get('x-cache'), 'HIT', 'monitor untouched')

  t.equal((await del('/cache/nothing', `Bearer ${token}`)).status, 404, 'unknown route')

  const cleared = await del('/cache', `Bearer ${token}`)
  t.equal(cleared.status, 200)
  t.match(cleared.json, { cleared: true, removed: 2 })
  t.equal((await request(base, '/energy/monitor')).headers.get('x-cache'), 'MISS', 'everything recomputed after clear')
  t.equal((await request(base, '/energy/gradient')).headers.get('x-cache'), 'MISS')
})

t.test('logs: one JSON line per event, secrets redacted', async (t) => {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    },
  })
  const logger = createLogger('info', sink)
  logger.info({ event: 'x', password: 'pw-1', redis: { password: 'pw-2' }, adminToken: 'tk-1', headers: { authorization: 'Bearer tk-2' } }, 'hello')
  logger.warn({ config: { redis: { password: 'pw-3' } }, req: { headers: { authorization: 'Bearer tk-3', cookie: 'c=1' } } }, 'nested')
  t.equal(lines.length, 2, 'one line per event')
  for (const line of lines) {
    t.doesNotThrow(() => JSON.parse(line), 'JSON')
    t.notMatch(line, /pw-\d|tk-\d|c=1/, `no secret in ${line}`)
  }
  t.match(JSON.parse(lines[0] ?? '{}'), { password: '[redacted]', redis: { password: '[redacted]' }, msg: 'hello' })
})
