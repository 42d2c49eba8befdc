/**
 * Degraded mode against a real Redis that hangs (SIGSTOP) or dies (SIGKILL):
 * requests keep answering, the circuit opens once, the fallback serves, and
 * the cache returns to Redis when it answers again.
 */
import t, { type Test } from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { harness, quietLogger, eventually, type Harness } from '../cache/harness.js'
import { redisFor, type RedisServer } from '../support/redis.js'
import { engineOf } from '../../src/cache/engine.js'

/** Liveness, not speed: a request that takes this long has stalled. */
const STALLED_MS = 3000

async function timedGet(h: Harness, path: string): Promise<{ status: number; xcache: string | null; ms: number }> {
  const started = Date.now()
  const reply = await h.get(path)
  return { status: reply.status, xcache: reply.xcache, ms: Date.now() - started }
}

async function degradedHarness(t: Test, server: RedisServer, logger = quietLogger()) {
  const store = new RedisStore({ url: server.url, logger, operationTimeout: 100 })
  await store.ready()
  const h = await harness(t, {
    kind: 'memory',
    logger,
    cache: { store, operationTimeout: 150, failureThreshold: 2, probeInterval: 200 },
  })
  return { h, logger }
}

for (const failure of ['pause', 'kill'] as const) {
  t.test(`Redis ${failure === 'pause' ? 'hung (SIGSTOP)' : 'killed (SIGKILL)'}: requests never fail or stall`, async (t) => {
    const server = await redisFor(t)
    const { h, logger } = await degradedHarness(t, server)
    const circuit: string[] = []
    h.cache.on('circuit', (state: string) => circuit.push(state))
    t.equal((await h.get('/data')).xcache, 'MISS')
    t.ok(await eventually(async () => (await h.get('/data')).xcache === 'HIT'), 'Redis serves hits')

    await server[failure]()
    const during: Array<{ status: number; xcache: string | null; ms: number }> = []
    for (let i = 0; i < 20; i++) during.push(await timedGet(h, '/data'))
    t.ok(during.every((r) => r.status === 200), 'every request answered 200')
    t.ok(during.every((r) => r.ms < STALLED_MS), `no request stalled (slowest ${Math.max(...during.map((r) => r.ms))} ms)`)
    t.equal(engineOf(h.cache).store.state === 'closed', false, 'the circuit opened')
    t.equal((await h.cache.health()).degraded, true)
    t.equal((await h.cache.health()).status, 'degraded')
    t.ok(during.slice(-5).every((r) => r.xcache === 'HIT'), 'the fallback MemoryStore serves hits while Redis is down')
    const downWarnings = logger.lines.filter((l) => (l.obj as { event?: string }).event === 'cache_store_down')
    t.equal(downWarnings.length, 1, 'one warning for the state change, not one per request')

    if (failure === 'pause') await server.resume()
    else await server.restart()
    t.ok(await eventually(() => engineOf(h.cache).store.state === 'closed', 10_000), 'back on Redis after a probe')
    t.equal((await h.cache.health()).degraded, false)
    t.same(circuit.slice(0, 2), ['open', 'half-open'])
    t.equal(circuit.at(-1), 'closed')
    const back = await h.get('/data?after=1')
    t.equal(back.status, 200)
    const store = engineOf(h.cache).store.primary as RedisStore
    t.ok(await eventually(async () => (await store.countPrefix(`${h.namespace}:`)) > 0), 'writes reach Redis again')
    t.ok(logger.lines.some((l) => (l.obj as { event?: string }).event === 'cache_store_up'), 'recovery logged')
  })
}

t.test('a Redis that is down from the start: the service still answers from memory', async (t) => {
  const server = await redisFor(t)
  await server.kill()
  const logger = quietLogger()
  const store = new RedisStore({ url: server.url, logger, connectTimeout: 300 })
  t.equal(await store.ready(), false, 'start-up waits, bounded, then goes on')
  const h = await harness(t, { kind: 'memory', logger, cache: { store, failureThreshold: 1, probeInterval: 200 } })
  const first = await timedGet(h, '/data')
  t.equal(first.status, 200)
  t.ok(first.ms < STALLED_MS)
  t.ok(await eventually(async () => (await h.get('/data')).xcache === 'HIT'), 'fallback hits')
  await server.restart()
  t.ok(await eventually(() => engineOf(h.cache).store.state === 'closed', 10_000), 'uses Redis once it appears')
})

t.test('no fallback (fallback: false): a Redis outage turns into misses, never errors', async (t) => {
  const server = await redisFor(t)
  const logger = quietLogger()
  const store = new RedisStore({ url: server.url, logger })
  await store.ready()
  const h = await harness(t, { kind: 'memory', logger, cache: { store, fallback: false, failureThreshold: 1 } })
  await server.pause()
  const replies = [await timedGet(h, '/data'), await timedGet(h, '/data')]
  t.same(replies.map((r) => [r.status, r.xcache]), [[200, 'MISS'], [200, 'MISS']])
  await server.resume()
})

t.test('an invalidation made while Redis is down is replayed before Redis serves again', async (t) => {
  const server = await redisFor(t)
  const { h } = await degradedHarness(t, server)
  const first = await h.get('/data')
  t.ok(await eventually(async () => (await h.get('/data')).xcache === 'HIT'), 'cached in Redis')
  await server.pause()
  for (let i = 0; i < 4; i++) await h.get('/data?during=1')
  t.equal(engineOf(h.cache).store.state === 'closed', false, 'the circuit is open')
  await h.cache.invalidate('data')
  await server.resume()
  t.ok(await eventually(() => engineOf(h.cache).store.state === 'closed', 10_000), 'back on Redis')
  const after = await h.get('/data')
  t.equal(after.xcache, 'MISS', 'the entry invalidated during the outage did not come back')
  t.not(after.text, first.text)
})
