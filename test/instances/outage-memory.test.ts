/**
 * Issue 19, item 5: answers served just before an outage keep serving from memory. With Redis
 * gone, the invalidation channel is down too, and the in-process tier stopped serving: each
 * instance computed each endpoint again, from an empty fallback. While the circuit is open the
 * tier serves what it holds, as the fallback does (no instance can invalidate through Redis
 * then); once the channel is back it starts empty, since messages may have been missed.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { engineOf } from '../../src/cache/engine.js'
import { RedisStore } from '../../adapters/redis.js'
import { eventually, harness, quietLogger, TestClock } from '../cache/harness.js'
import { redisFor } from '../support/redis.js'

t.test('Redis killed: the answer held in memory keeps serving, no recomputation', async (t) => {
  const redis = await redisFor(t)
  const store = new RedisStore({ url: redis.url, logger: quietLogger() })
  await store.ready()
  const h = await harness(t, {
    kind: 'redis',
    clock: new TestClock(30),
    cache: { store, namespace: `om${randomUUID().slice(0, 6)}`, l1: { maxBytes: 1 << 20 }, failureThreshold: 1, probeInterval: 200 },
  })
  t.ok(await eventually(async () => (await h.cache.health()).l1?.channel === 'subscribed'), 'subscribed')
  const first = await h.get('/data')
  t.equal(first.xcache, 'MISS')
  t.ok(await eventually(async () => (await h.get('/data')).xcache === 'HIT' && (await h.cache.health()).l1!.entries > 0), 'held in memory')

  await redis.kill()
  t.ok(await eventually(async () => (await h.cache.health()).l1?.channel === 'down'), 'the channel is down')
  for (let i = 0; i < 5; i++) {
    const reply = await h.get('/data')
    t.equal(reply.status, 200)
    t.same(reply.bytes, first.bytes, 'the answer from before the outage')
  }
  t.not(engineOf(h.cache).store.state, 'closed', 'the circuit opened')
  t.equal(h.calls(), 1, 'nothing computed again during the outage')

  await redis.restart()
  t.ok(await eventually(async () => engineOf(h.cache).store.state === 'closed' && (await h.cache.health()).l1?.channel === 'subscribed', 20_000), 'back')
  t.equal((await h.cache.health()).l1!.entries, 0, 'the tier starts empty once the channel is back: messages may have been missed')
})
