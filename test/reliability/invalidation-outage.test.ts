/**
 * Issue 21 while degraded: a computation that begins while Redis is down
 * (circuit open, the fallback serving) must not undo an invalidation that is
 * replayed to Redis when it comes back.
 */
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { harness, quietLogger, eventually } from '../cache/harness.js'
import { Gate } from '../cache/gate.js'
import { redisFor } from '../support/redis.js'
import { engineOf } from '../../src/cache/engine.js'

for (const when of ['during', 'before'] as const) {
  t.test(`a computation begun ${when} an outage is not stored over an invalidation replayed after it`, async (t) => {
    const server = await redisFor(t)
    const logger = quietLogger()
    const store = new RedisStore({ url: server.url, logger, operationTimeout: 100 })
    await store.ready()
    const state = { version: 1, hold: false, gate: new Gate() }
    const h = await harness(t, {
      kind: 'memory',
      logger,
      cache: { store, operationTimeout: 150, failureThreshold: 2, probeInterval: 200 },
      handler: async (ctx) => {
        const v = state.version
        if (state.hold && ctx.path === '/data' && ctx.querystring === '') await state.gate.wait()
        ctx.body = { v }
      },
    })
    await h.get('/data?warm=1')
    state.hold = true
    let first: ReturnType<typeof h.get> | undefined
    if (when === 'before') first = h.get('/data')
    if (when === 'before') t.ok(await eventually(() => state.gate.reached === 1), 'computing with version 1 on Redis')
    await server.pause()
    for (let i = 0; i < 4 && engineOf(h.cache).store.state === 'closed'; i++) await h.get(`/data?trip=${i}`)
    t.not(engineOf(h.cache).store.state, 'closed', 'the circuit is open')
    if (when === 'during') first = h.get('/data')
    if (when === 'during') t.ok(await eventually(() => state.gate.reached === 1), 'computing with version 1 from the fallback')
    state.version = 2
    await h.cache.invalidate('data')
    await server.resume()
    t.ok(await eventually(() => engineOf(h.cache).store.state === 'closed', 10_000), 'back on Redis, the invalidation replayed')
    state.gate.open()
    t.same(JSON.parse((await first!).text), { v: 1 })
    t.ok(await eventually(() => engineOf(h.cache).flights.size === 0), 'its write settled')
    const next = await h.get('/data')
    t.equal(next.xcache, 'MISS', 'the old answer was not stored')
    t.same(JSON.parse(next.text), { v: 2 })
  })
}
