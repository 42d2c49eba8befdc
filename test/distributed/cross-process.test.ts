/**
 * Two cache instances sharing one real Redis stand for two processes (pods):
 * each has its own in-process flight map, so only the store lock can keep
 * them from computing the same key twice.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { harness, TestClock, type Handler } from '../cache/harness.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function twoInstances(t: import('tap').Test, handler: Handler) {
  const namespace = `x${randomUUID().slice(0, 8)}`
  const clock = new TestClock()
  let computations = 0
  const counting: Handler = async (ctx, call) => {
    computations++
    await handler(ctx, call)
  }
  const make = () => harness(t, { kind: 'redis', clock, handler: counting, cache: { namespace } })
  const [a, b] = [await make(), await make()]
  return { a, b, clock, computations: () => computations }
}

t.test('across processes: 100 concurrent cold requests over two instances compute once', async (t) => {
  const { a, b, computations } = await twoInstances(t, async (ctx, call) => {
    await sleep(300)
    ctx.body = { call }
  })
  const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).get('/data')))
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
  await sleep(50)
  clock.advance(30_000)
  const stale = await Promise.all([a.get('/data'), b.get('/data')])
  t.same(stale.map((r) => r.xcache), ['STALE', 'STALE'])
  await sleep(600)
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
  const store = a.cache.store.primary as import('../../adapters/redis.js').RedisStore
  const locks = await store.countPrefix(`${a.cache.options.namespace}:`)
  t.equal(locks, 0, 'no lock (and no entry) left behind for peers to wait on')
})
