/**
 * Two cache instances sharing one real Redis stand for two processes (pods):
 * each has its own in-process flight map, so only the store lock can keep
 * them from computing the same key twice.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import type { Middleware } from 'koa'
import { harness, sharedRedis, TestClock, type Handler } from '../cache/harness.js'
import { waitUntil } from '../support/probe.js'
import { engineOf } from '../../src/cache/engine.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function twoInstances(t: import('tap').Test, handler: Handler, before?: Middleware) {
  const namespace = `x${randomUUID().slice(0, 8)}`
  const clock = new TestClock()
  let computations = 0
  const counting: Handler = async (ctx, call) => {
    computations++
    await handler(ctx, call)
  }
  const make = () => harness(t, { kind: 'redis', clock, handler: counting, cache: { namespace }, before })
  const [a, b] = [await make(), await make()]
  return { a, b, clock, computations: () => computations }
}

t.test('across processes: 100 concurrent cold requests over two instances compute once', async (t) => {
  const requests = 100
  // Each instance counts arrivals in Redis ahead of its cache, as separate processes would, and the
  // computation answers only once every request has arrived: all 100 meet it in flight, however
  // slowly a busy machine delivers them.
  const client = new Redis((await sharedRedis()).url)
  t.teardown(() => client.quit())
  const arrivals = `arrivals:${randomUUID()}`
  const arrive: Middleware = async (_ctx, next) => {
    await client.incr(arrivals)
    await next()
  }
  const { a, b, computations } = await twoInstances(
    t,
    async (ctx, call) => {
      // Within the peers' lock wait (at least 10 s): past it they would compute on their own.
      await waitUntil('every request to arrive', async () => Number(await client.get(arrivals)) === requests, { timeoutMs: 8_000 })
      ctx.body = { call }
    },
    arrive,
  )
  const replies = await Promise.all(Array.from({ length: requests }, (_, i) => (i % 2 ? a : b).get('/data')))
  t.equal(Number(await client.get(arrivals)), requests, 'every request went through an instance')
  t.equal(computations(), 1, 'one computation for both instances')
  t.equal(new Set(replies.map((r) => r.text)).size, 1, 'one answer everywhere')
  t.ok(replies.every((r) => r.status === 200))
})

t.test('across processes: a stale refresh runs in one instance only', async (t) => {
  const { a, b, clock, computations } = await twoInstances(t, async (ctx, call) => {
    if (call > 1) await sleep(300)
    ctx.body = { call }
  })
  await a.get('/data')
  // The store write follows the answer: wait until the peer sees the entry, not for a fixed time.
  await waitUntil('the entry to reach the peer', async () => (await b.get('/data')).xcache === 'HIT')
  clock.advance(30_000)
  const stale = await Promise.all([a.get('/data'), b.get('/data')])
  t.same(stale.map((r) => r.xcache), ['STALE', 'STALE'])
  // Once both instances answer the refreshed entry, no refresh can still start: a late one takes
  // the lock only after the holder stored, and then finds the entry.
  await waitUntil('both instances to hold the refreshed answer', async () => {
    const replies = await Promise.all([a.get('/data'), b.get('/data')])
    return replies.every((r) => r.xcache === 'HIT')
  })
  t.equal(computations(), 2, 'one refresh for the two instances')
})

t.test('across processes: when the lock holder cannot share its answer, the other computes its own', async (t) => {
  const { a, b, computations } = await twoInstances(t, async (ctx, call) => {
    await sleep(200)
    ctx.cookies.set('id', randomUUID())
    ctx.body = { call }
  })
  const [one, two] = await Promise.all([a.get('/data'), b.get('/data')])
  t.equal(computations(), 2)
  t.not(one.headers.get('set-cookie'), two.headers.get('set-cookie'), 'no cookie crossed over')
})

t.test('a computation that fails outright releases the lock at once', async (t) => {
  const { Readable } = await import('node:stream')
  const { a } = await twoInstances(t, (ctx) => {
    ctx.body = new Readable({
      read() {
        this.destroy(new Error('stream broke'))
      },
    })
  })
  const reply = await a.get('/data')
  t.equal(reply.status, 500)
  const store = engineOf(a.cache).store.primary as import('../../adapters/redis.js').RedisStore
  const locks = await store.countPrefix(`${engineOf(a.cache).options.namespace}:`)
  t.equal(locks, 0, 'no lock (and no entry) left behind for peers to wait on')
})
