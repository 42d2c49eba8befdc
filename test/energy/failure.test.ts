/**
 * The energy service when things go wrong, and its computation off the event loop: compute
 * timeouts answered 504 and cached as errors, stale good answers preferred to errors, a Redis
 * outage reported as degraded (not down) and recovered from, cached answers served while a
 * computation runs.
 */
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { bucketOf } from '../../src/index.js'
import { createEnergyPool, type EnergyPool } from '../../src/energy/pool.js'
import { waitUntil } from '../support/probe.js'
import { redisFor } from '../support/redis.js'
import { manualClock, metricSum, nonFinite, request, serveInProcess, shapeProblems, SHAPES, waitFor } from './support.js'
import { engineOf } from '../../src/cache/engine.js'

t.test('a computation past ENERGY_TIMEOUT_MS answers 504 with the error shape, cached 10 s', async (t) => {
  const redis = await redisFor(t)
  const clock = manualClock()
  // 400 agents take far longer than 20 ms (the first computation also starts the worker).
  const { base, energy } = await serveInProcess(t, { REDIS_URL: redis.url, ENERGY_AGENTS: '400', ENERGY_TIMEOUT_MS: '20' }, { clock: clock.now })
  await energy.cache.clear()
  const client = new Redis(redis.url)
  t.teardown(() => client.quit())
  // The worker is up and holds the population: the gradient below runs, and runs too long.
  await energy.pool.compute('monitor', clock.now(), { timeoutMs: 60_000 })

  const first = await request(base, '/energy/gradient')
  t.equal(first.status, 504)
  t.equal(first.headers.get('x-cache'), 'MISS')
  t.equal(first.headers.get('cache-control'), 'no-store')
  t.equal(first.headers.get('retry-after'), null, 'the computation itself is too slow: retrying will not help')
  t.equal(first.json.error, 'energy gradient computation timed out', 'the error field says what happened, not the configured limit')
  t.same(shapeProblems(first.json, SHAPES.gradient), [], 'the reference shape, plus error')
  t.same(nonFinite(first.json), [])
  t.equal(first.json.real_time_metrics.total_agents, 400)

  const second = await request(base, '/energy/gradient')
  t.equal(second.status, 504)
  t.equal(second.headers.get('x-cache'), 'HIT', 'the error answer is cached')
  t.equal(second.text, first.text)
  const key = `energy:gradient:${bucketOf(clock.now(), 30)}`
  const ttl = await waitFor('the error entry in Redis', async () => {
    const pttl = await client.pttl(key)
    return pttl > 0 ? pttl : undefined
  })
  t.ok(ttl <= 10_000, `cached for at most 10 s (${ttl} ms)`)

  for (const name of ['monitor', 'calibrate'] as const) {
    const answer = await request(base, `/energy/${name}`)
    t.equal(answer.status, 504, `${name}: 504`)
    t.same(shapeProblems(answer.json, SHAPES[name]), [], `${name}: error shape`)
    t.type(answer.json.error, 'string')
  }
  const metrics = (await request(base, '/metrics')).text
  t.equal(metricSum(metrics, 'cache_compute_duration_seconds_count', { route: 'gradient', outcome: 'error' }), 1)
  t.equal(metricSum(metrics, 'http_requests_total', { route: '/energy/gradient', status: '504' }), 2)
  t.equal((await request(base, '/health')).status, 200, 'failed computations do not make the service down')
})

t.test('a 504 from waiting in the queue is not cached: the next request computes again', async (t) => {
  const redis = await redisFor(t)
  const clock = manualClock()
  // A new pool's worker takes far longer than 20 ms to start, so the first computation times out queued.
  const { base, energy } = await serveInProcess(t, { REDIS_URL: redis.url, ENERGY_TIMEOUT_MS: '20' }, { clock: clock.now })
  await energy.cache.clear()
  const first = await request(base, '/energy/monitor')
  t.equal(first.status, 504)
  t.equal(first.headers.get('cache-control'), 'no-store')
  t.match(first.headers.get('retry-after'), /^\d+$/, 'the client is told when to come back')
  t.same(shapeProblems(first.json, SHAPES.monitor), [])
  const second = await request(base, '/energy/monitor')
  t.equal(second.headers.get('x-cache'), 'MISS', 'not served from the cache')
  const client = new Redis(redis.url)
  t.teardown(() => client.quit())
  t.equal(await client.exists(`energy:monitor:${bucketOf(clock.now(), 30)}`), 0, 'nothing stored in Redis')
})

/** The real pool, with a switch that makes computations fail as a crashed worker would. */
function faultyPool(t: Test): { pool: EnergyPool; fail(on: boolean): void; calls: () => number } {
  const real = createEnergyPool({ agents: 48, seed: 42, threads: 1, timeoutMs: 30_000 })
  t.teardown(() => real.close())
  let failing = false
  let calls = 0
  const pool: EnergyPool = {
    compute(endpoint, now, options) {
      calls++
      if (failing) return Promise.reject(new Error('worker crashed'))
      return real.compute(endpoint, now, options)
    },
    close: () => real.close(),
    load: () => real.load(),
  }
  return { pool, fail: (on) => void (failing = on), calls: () => calls }
}

t.test('a failed refresh serves the stale good answer rather than the error', async (t) => {
  const clock = manualClock()
  const faulty = faultyPool(t)
  const { base, energy } = await serveInProcess(t, {}, { clock: clock.now, pool: faulty.pool })

  const good = await request(base, '/energy/gradient')
  t.equal(good.status, 200)
  clock.advance(30_000) // the next bucket: the previous answer may be served stale
  faulty.fail(true)

  const stale = await request(base, '/energy/gradient')
  t.equal(stale.status, 200)
  t.equal(stale.headers.get('x-cache'), 'STALE')
  t.equal(stale.text, good.text, 'the previous good answer')
  const key = `energy:gradient:${bucketOf(clock.now(), 30)}`
  await waitFor('the failed refresh to store its error entry', async () => (await engineOf(energy.cache).store.get(key)) !== undefined)
  const callsAfterRefresh = faulty.calls()
  t.equal(callsAfterRefresh, 2, 'one background refresh ran, and failed')

  const still = await request(base, '/energy/gradient')
  t.equal(still.status, 200, 'the error is not served while a stale good answer exists')
  t.equal(still.headers.get('x-cache'), 'STALE')
  t.equal(still.text, good.text)
  t.equal(faulty.calls(), callsAfterRefresh, 'no new computation while the error entry lives')

  // With no good answer to fall back on, the error itself is answered, and cached.
  const failed = await request(base, '/energy/monitor')
  t.equal(failed.status, 500)
  t.equal(failed.json.error, 'energy monitor computation failed', 'internal details stay in the log')
  t.same(shapeProblems(failed.json, SHAPES.monitor), [])
  const cached = await request(base, '/energy/monitor')
  t.equal(cached.status, 500)
  t.equal(cached.headers.get('x-cache'), 'HIT')
})

t.test('a Redis outage is degraded, not down, and the service recovers with Redis', { skip: process.env.TEST_REDIS_URL ? 'needs its own Redis to kill' : false }, async (t) => {
  const redis = await redisFor(t)
  // A hand-moved clock: no bucket rollover turns a HIT into STALE or MISS halfway.
  const { base, energy } = await serveInProcess(t, { REDIS_URL: redis.url }, { clock: manualClock().now })
  await request(base, '/energy/gradient')
  t.equal((await request(base, '/energy/gradient')).headers.get('x-cache'), 'HIT')

  await redis.kill()
  const during = []
  for (let i = 0; i < 5; i++) during.push(await request(base, '/energy/gradient'))
  t.ok(during.every((a) => a.status === 200), 'every request answered while Redis is gone')
  t.equal(during.at(-1)?.headers.get('x-cache'), 'HIT', 'from the memory fallback')

  const health = await request(base, '/health')
  t.equal(health.status, 200, 'still serving: 200')
  t.match(health.json, { status: 'degraded', backend: 'redis', degraded: true, circuit: 'open' })
  t.ok(health.json.store_errors >= 3)
  const metrics = (await request(base, '/metrics')).text
  t.equal(metricSum(metrics, 'cache_circuit_state', { state: 'open' }), 1)
  t.equal(metricSum(metrics, 'cache_circuit_state', { state: 'closed' }), 0)
  t.ok(metricSum(metrics, 'cache_store_errors_total') >= 3, 'store errors counted')

  await redis.restart()
  await waitFor('the circuit to close again', async () => (await request(base, '/health')).json.degraded === false, 15_000)
  const after = (await request(base, '/metrics')).text
  t.equal(metricSum(after, 'cache_circuit_state', { state: 'closed' }), 1)
  t.equal(engineOf(energy.cache).store.state, 'closed')
  const fresh = await request(base, '/energy/monitor')
  t.equal(fresh.headers.get('x-cache'), 'MISS')
  t.equal((await request(base, '/energy/monitor')).headers.get('x-cache'), 'HIT', 'caching in Redis again')
})

t.test('computations run off the event loop: cached answers are served while one runs', async (t) => {
  // One worker thread and 1000 agents: an uncached gradient keeps that worker busy for a second or more.
  // A hand-moved clock: no bucket rollover turns a hit into STALE halfway.
  const { base, energy } = await serveInProcess(t, { ENERGY_AGENTS: '1000', ENERGY_THREADS: '1' }, { clock: manualClock().now })
  t.equal((await request(base, '/energy/monitor')).headers.get('x-cache'), 'MISS')
  const before = energy.pool.load().started

  // Ordering, not speed: every answer below comes between the worker taking the gradient and the
  // gradient's end. A computation on the event loop would leave no such moment to answer in.
  const order: string[] = []
  const slow = request(base, '/energy/gradient').finally(() => order.push('computed'))
  await waitUntil('the worker to take the gradient', async () => energy.pool.load().started === before + 1 && energy.pool.load().running === 1, { intervalMs: 5 })
  order.push('started')
  const answers = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const answer = await request(base, i % 2 ? '/health' : '/energy/monitor')
      order.push('answered')
      return answer
    }),
  )
  const stillRunning = energy.pool.load().running
  const gradient = await slow

  t.same(
    answers.filter((_, i) => i % 2 === 0).map((a) => a.headers.get('x-cache')),
    ['HIT', 'HIT', 'HIT', 'HIT'],
    'every monitor answer during the computation was a hit',
  )
  t.ok(answers.every((a) => a.status === 200), 'and every answer a 200')
  t.equal(stillRunning, 1, 'the gradient was still running once all 8 were answered')
  t.same(order, ['started', ...answers.map(() => 'answered'), 'computed'], 'all 8 answered after the gradient started and before it finished')
  t.equal(gradient.status, 200)
  t.equal(gradient.headers.get('x-cache'), 'MISS', 'the gradient was computed, not served')
})
