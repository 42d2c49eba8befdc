/**
 * Per-minute history: sampled as minutes end, served at /dashboard/history, and read back by a
 * new process from the cache's own store (a real Redis here).
 */
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { quietLogger } from '../cache/harness.js'
import { redisFor } from '../support/redis.js'
import { dashboardApp } from './support.js'

t.test('one sample per minute with that minute\'s counts, kept across a restart through Redis, untouched by clear()', async (t) => {
  const redis = await redisFor(t)
  const namespace = 'hist'
  const first = await dashboardApp(t, { cache: { store: new RedisStore({ url: redis.url, logger: quietLogger() }), namespace }, dashboard: { evaluateMs: 3_600_000 } })
  await first.get('/alpha')
  await first.get('/alpha')
  await first.dashboard.evaluate()
  t.same((await first.json('/dashboard/history')).samples, [], 'no minute has ended yet')
  first.clock.advance(60_000)
  await first.dashboard.evaluate()
  await first.get('/beta')
  first.clock.advance(60_000)
  await first.dashboard.evaluate()
  const samples = (await first.json('/dashboard/history')).samples
  t.equal(samples.length, 2)
  t.match(samples[0], { hits: 1, misses: 1, computations: 1, degraded: false })
  t.match(samples[1], { hits: 0, misses: 1, computations: 1 })
  t.equal(samples[1].at - samples[0].at, 60_000, 'one a minute, at the start of the minute')
  t.equal(samples[0].at % 60_000, 0)
  t.type(samples[0].lookupP99, 'number')
  await first.cache.clear()

  const second = await dashboardApp(t, { cache: { store: new RedisStore({ url: redis.url, logger: quietLogger() }), namespace }, dashboard: { evaluateMs: 3_600_000 } })
  second.clock.ms = first.clock.ms + 60_000
  await second.dashboard.evaluate()
  const after = (await second.json('/dashboard/history')).samples
  t.same(after.slice(0, 2), samples, 'the samples of the previous process, read back from Redis')
})

t.test('samples older than the kept span are dropped', async (t) => {
  const app = await dashboardApp(t, { dashboard: { evaluateMs: 3_600_000, history: { minutes: 3, persist: false } } })
  for (let i = 0; i < 6; i++) {
    app.clock.advance(60_000)
    await app.dashboard.evaluate()
  }
  const samples = (await app.json('/dashboard/history')).samples
  t.equal(samples.length, 3)
  t.ok(samples.every((s: { at: number }) => s.at >= Math.floor(app.clock.now() / 60_000) * 60_000 - 3 * 60_000))
})
