/**
 * Issue 15: a lock this instance saw a peer holding is memoised until it would expire (issue 19,
 * item 6), but an invalidation made on another instance deletes the lock with the key. The memo
 * must go with it: otherwise this instance does not refresh the key for up to the lock's TTL
 * (10 s at least), serving the previous bucket as stale meanwhile.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { harness, quietLogger, TestClock, eventually } from '../cache/harness.js'
import { Gate } from '../cache/gate.js'
import { redisCall } from '../support/probe.js'
import { redisFor } from '../support/redis.js'

t.test("an invalidation from another instance clears this instance's memo of the peer's lock", async (t) => {
  const redis = await redisFor(t)
  const namespace = `m${randomUUID().slice(0, 8)}`
  const clock = new TestClock()
  const gate = new Gate()
  let computations = 0
  let blocked = false
  const make = async () => {
    const store = new RedisStore({ url: redis.url, operationTimeout: 1_000, logger: quietLogger() })
    await store.ready()
    const h = await harness(t, {
      kind: 'redis',
      clock,
      cache: { namespace, store, l1: { maxBytes: 1 << 20 } },
      handler: async (ctx) => {
        const call = ++computations
        if (blocked) await gate.wait()
        ctx.body = { call }
      },
    })
    if (!(await eventually(async () => (await h.cache.health()).l1?.channel === 'subscribed'))) throw new Error('the invalidation channel never subscribed')
    return h
  }
  const [a, b] = [await make(), await make()]
  await a.get('/data')
  t.ok(await eventually(async () => (await b.get('/data')).xcache === 'HIT'), 'the entry reached the other instance')

  clock.advance(30_000)
  blocked = true
  t.equal((await a.get('/data')).xcache, 'STALE', 'A serves stale and refreshes')
  t.ok(await eventually(() => gate.reached === 1), "A's refresh runs, holding the lock")
  t.equal((await b.get('/data')).xcache, 'STALE', 'B finds the lock held: it memoises that A holds it')
  blocked = false
  gate.open()
  t.ok(await eventually(async () => (await b.get('/data')).xcache === 'HIT'), "B finds A's refreshed entry")
  t.equal(computations, 2)

  // Invalidate the current bucket only, on A: B still has the previous bucket to serve stale.
  const keys = String(await redisCall(redis.host, redis.port, ['KEYS', `${namespace}:*`])).split(',')
  const current = keys.filter((key) => /:\d+$/.test(key) && !key.includes('!')).sort().at(-1)!
  t.ok(current, `the current bucket's key (${current})`)
  await a.cache.invalidateKey(current)
  t.ok(await eventually(async () => (await b.cache.health()).l1!.messages_received > 0), 'B heard the invalidation')

  t.equal((await b.get('/data')).xcache, 'STALE', 'B serves the previous bucket and refreshes')
  // The memo of A's lock (taken for at least 10 s) must not hold B's refresh back.
  t.ok(await eventually(() => computations === 3, 5_000), 'B refreshes at once')
  t.ok(await eventually(async () => (await b.get('/data')).xcache === 'HIT', 5_000), 'B serves the refreshed entry')
})
