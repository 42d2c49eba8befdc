/**
 * A broken or slow Redis never stalls a request beyond one time budget: a request whose lookup
 * just timed out on a hung Redis (SIGSTOP) must not spend a second budget on the generation
 * counters or the shared lock before its handler runs (found trying the package from outside,
 * with `fallback: false`: lookup, then a generations read, each a full budget).
 */
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { harness, quietLogger, settled } from '../cache/harness.js'
import { redisFor } from '../support/redis.js'

/** Large on purpose: the bound below is a count of budgets, not a speed target. */
const BUDGET_MS = 400

for (const fallback of ['none', 'default'] as const) {
  t.test(`hung Redis, ${fallback === 'none' ? 'fallback: false' : 'default fallback'}: one store failure and at most one budget per request`, async (t) => {
    const server = await redisFor(t)
    const logger = quietLogger()
    const store = new RedisStore({ url: server.url, logger, operationTimeout: BUDGET_MS })
    await store.ready()
    const h = await harness(t, {
      kind: 'memory',
      logger,
      // A high threshold keeps the circuit closed through the request under test.
      cache: { store, operationTimeout: BUDGET_MS, failureThreshold: 10, probeInterval: 60_000, ...(fallback === 'none' && { fallback: false }) },
    })
    t.equal((await h.get('/data')).xcache, 'MISS', 'Redis answers before the fault')
    t.ok(await settled(h.cache), 'its write and lock release are done before the fault')

    await server.pause()
    const errors: Error[] = []
    h.cache.on('store-error', (error) => errors.push(error as Error))
    const started = Date.now()
    const reply = await h.get('/data?during=1')
    const ms = Date.now() - started
    t.equal(reply.status, 200, 'the request is answered')
    t.equal(reply.xcache, 'MISS')
    t.equal(errors.length, 1, `one store operation failed during the request, not a second after it (${errors.map((e) => e.message).join('; ')})`)
    t.ok(ms < 1.5 * BUDGET_MS, `the request took less than 1.5 budgets, not two (${ms} ms)`)
    await server.resume()
  })
}
