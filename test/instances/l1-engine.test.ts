// The in-process tier wired into the engine, on real Redis: a hit there sends no command, it
// follows the cache's clock, an invalidation on one instance reaches the others over pub/sub, a
// lost subscription stops it from serving, and a computation an invalidation overtook never
// becomes a local copy.
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { Gate } from '../cache/gate.js'
import { eventually, harness, quietLogger, TestClock } from '../cache/harness.js'
import { redisFor } from '../support/redis.js'
import { redisCall } from '../support/probe.js'
import { engineOf } from '../../src/cache/engine.js'

const L1 = { maxBytes: 1 << 20 }

async function readCommands(client: Redis): Promise<number> {
  const stats = await client.info('commandstats')
  let calls = 0
  for (const name of ['get', 'mget']) calls += Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
  return calls
}

async function instance(t: Parameters<typeof harness>[0], url: string, namespace: string, clock: TestClock, handler?: Parameters<typeof harness>[1]['handler']) {
  const store = new RedisStore({ url, operationTimeout: 1_000, logger: quietLogger() })
  await store.ready()
  const h = await harness(t, { kind: 'redis', clock, cache: { store, namespace, l1: L1 }, ...(handler ? { handler } : {}) })
  if (!(await eventually(async () => (await h.cache.health()).l1?.channel === 'subscribed'))) throw new Error('the invalidation channel never subscribed')
  return h
}

t.test('a hit in L1 sends no command to Redis, and L1 follows the cache clock', async (t) => {
  const redis = await redisFor(t)
  const client = new Redis(redis.url)
  t.teardown(() => client.quit())
  const clock = new TestClock(30)
  const h = await instance(t, redis.url, `l1${randomUUID().slice(0, 6)}`, clock)
  t.equal((await h.get('/data')).xcache, 'MISS')
  t.ok(await eventually(async () => ((await h.cache.health()).l1?.entries ?? 0) > 0))
  // The flight releases its lock after the local copy is kept: a script whose GET counts too.
  t.ok(await eventually(() => engineOf(h.cache).flights.size === 0), 'the computation has released its lock')
  const before = await readCommands(client)
  for (let i = 0; i < 20; i++) t.equal((await h.get('/data')).xcache, 'HIT')
  const sent = (await readCommands(client)) - before
  t.equal(sent, 0, `twenty hits, no GET or MGET (${sent} sent)`)
  t.ok((await h.cache.health()).l1!.hits >= 20)
  clock.advance(30_000 + 30_000) // past the bucket and its stale window
  const later = await h.get('/data')
  t.equal(later.xcache, 'MISS', 'an L1 copy never outlives what the store would serve')
  t.ok((await readCommands(client)) - before > 0, 'that request went to the store')
})

/** Two instances of one namespace on one Redis; A has answered once and holds a local copy. */
async function twoInstances(t: Parameters<typeof harness>[0]) {
  const redis = await redisFor(t)
  const clock = new TestClock(30)
  const namespace = `l1${randomUUID().slice(0, 6)}`
  const a = await instance(t, redis.url, namespace, clock)
  const b = await instance(t, redis.url, namespace, clock)
  const first = await a.get('/data')
  t.ok(await eventually(async () => (await a.get('/data')).xcache === 'HIT' && (await a.cache.health()).l1!.entries > 0), 'A keeps a local copy')
  return { redis, a, b, first }
}

t.test('an invalidation on one instance reaches another instance\'s L1', async (t) => {
  const { a, b, first } = await twoInstances(t)
  await b.cache.invalidate('data')
  t.ok(await eventually(async () => (await a.cache.health()).l1!.messages_received > 0))
  const after = await a.get('/data')
  t.equal(after.xcache, 'MISS', 'A computes again instead of serving its local copy')
  t.not(after.text, first.text)
})

t.test('while the subscription is lost, L1 is not read; it comes back empty', async (t) => {
  const { redis, a, b, first } = await twoInstances(t)
  await redisCall(redis.host, redis.port, ['CLIENT', 'KILL', 'TYPE', 'pubsub'])
  // B's message is published while A's subscription may be down: A must not count on hearing it.
  await b.cache.invalidate('data')
  const after = await a.get('/data')
  t.not(after.text, first.text, 'A does not serve the invalidated answer')
  t.ok(await eventually(async () => (await a.cache.health()).l1!.channel === 'subscribed'))
})

t.test('a computation an invalidation overtook does not become the local copy', async (t) => {
  const redis = await redisFor(t)
  const clock = new TestClock(30)
  const gate = new Gate()
  let version = 1
  const h = await instance(t, redis.url, `l1${randomUUID().slice(0, 6)}`, clock, async (ctx) => {
    const seen = version
    await gate.wait()
    ctx.body = { version: seen }
  })
  const slow = h.get('/data')
  t.ok(await eventually(() => gate.reached > 0))
  version = 2
  await h.cache.invalidate('data')
  gate.open()
  t.match((await slow).text, /"version":1/, 'the waiting request gets the answer it waited for')
  const next = await h.get('/data')
  t.match(next.text, /"version":2/, 'the next request computes again: v1 was neither stored nor kept in L1')
})
