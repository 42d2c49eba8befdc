/**
 * /health on a Redis full of unrelated keys (issue 23, finding 3): the key count is bounded and
 * marked partial, and many pollers share one reading. SCAN calls are counted with INFO
 * commandstats, never timed.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { RedisStore } from '../../adapters/redis.js'
import { createResponseCache } from '../../src/index.js'
import { HEALTH_SNAPSHOT_MS } from '../../src/cache/metrics.js'
import { redisFor } from '../support/redis.js'
import { quietLogger } from './harness.js'

const UNRELATED = 300_000
const SCAN_COUNT = 500
/** A full SCAN of the keyspace at COUNT 500 takes at least this many calls. */
const FULL_SCAN = UNRELATED / SCAN_COUNT

async function scanCalls(client: Redis): Promise<number> {
  const stats = await client.info('commandstats')
  return Number(/cmdstat_scan:calls=(\d+)/.exec(stats)?.[1] ?? 0)
}

t.test('keys_count on 300k unrelated keys: a bounded SCAN, one per snapshot however many pollers', async (t) => {
  const redis = await redisFor(t)
  const client = new Redis(redis.url)
  t.teardown(() => client.quit())
  for (let i = 0; i < UNRELATED; i += 10_000) {
    const pairs: string[] = []
    for (let j = i; j < i + 10_000; j++) pairs.push(`other:${j}`, 'x')
    await client.mset(...pairs)
  }
  const store = new RedisStore({ url: redis.url, scanCount: SCAN_COUNT, logger: quietLogger() })
  const cache = createResponseCache({ store, namespace: 'energy', logger: quietLogger() })
  t.teardown(() => cache.close())
  await store.set('energy:gradient:1', 'x')

  const before = await scanCalls(client)
  const first = await cache.health()
  const one = (await scanCalls(client)) - before
  t.equal(first.keys_count_partial, true, 'the count stopped at its budget and says so')
  t.equal(first.keys_count, null, 'rather than a number that would look exact')
  // ioredis's scan stream reads ahead up to 16 replies beyond the one the budget stopped at.
  t.ok(one < FULL_SCAN / 2, `one health check: ${one} SCAN calls (a full scan is ${FULL_SCAN}+)`)

  await new Promise((resolve) => setTimeout(resolve, HEALTH_SNAPSHOT_MS + 50)) // the snapshot expires
  // How many SCANs fit in the budget depends on the machine's load; how many counts run does not.
  let counts = 0
  const countPrefix = store.countPrefix.bind(store)
  store.countPrefix = (prefix, signal) => {
    counts++
    return countPrefix(prefix, signal)
  }
  const start = await scanCalls(client)
  const pollers = await Promise.all(Array.from({ length: 30 }, () => cache.health()))
  const thirty = (await scanCalls(client)) - start
  t.equal(counts, 1, 'thirty concurrent health checks share one count')
  t.ok(thirty < FULL_SCAN / 2, `thirty concurrent health checks: ${thirty} SCAN calls (a full scan is ${FULL_SCAN}+)`)
  t.ok(pollers.every((h) => h.status === 'ok'))
})

t.test('a small namespace is counted in full, and not marked partial', async (t) => {
  const redis = await redisFor(t)
  const store = new RedisStore({ url: redis.url, logger: quietLogger() })
  const cache = createResponseCache({ store, namespace: 'energy', logger: quietLogger() })
  t.teardown(() => cache.close())
  for (const name of ['gradient', 'monitor', 'calibrate']) await store.set(`energy:${name}:1`, 'x')
  const health = await cache.health()
  t.equal(health.keys_count, 3)
  t.equal(health.keys_count_partial, false)
})
