/**
 * Issue 19, item 6: while one instance refreshes a stale key, the stale requests on another
 * instance each sent their own SET NX for the lock (about 45 in 0.66 s in the trial). One attempt
 * per key per instance per refresh is enough: the lock is taken as held until it would expire,
 * and the entry, once the holder stores it, is found by the lookup. Commands are counted with
 * INFO commandstats on a server of this test's own (the lock is the only plain SET the cache sends).
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { harness, quietLogger, TestClock, eventually } from '../cache/harness.js'
import { Gate } from '../cache/gate.js'
import { redisCall } from '../support/probe.js'
import { redisFor } from '../support/redis.js'

async function setCalls(server: { host: string; port: number }): Promise<number> {
  const stats = String(await redisCall(server.host, server.port, ['INFO', 'commandstats']))
  return Number(/cmdstat_set:calls=(\d+)/.exec(stats)?.[1] ?? 0)
}

t.test('stale requests on one instance send one SET NX while another instance refreshes', async (t) => {
  const redis = await redisFor(t)
  const namespace = `s${randomUUID().slice(0, 8)}`
  const clock = new TestClock()
  const gate = new Gate()
  let computations = 0
  const make = async () => {
    const store = new RedisStore({ url: redis.url, logger: quietLogger() })
    await store.ready()
    return harness(t, {
      kind: 'redis',
      clock,
      cache: { namespace, store },
      handler: async (ctx) => {
        const call = ++computations
        if (call > 1) await gate.wait()
        ctx.body = { call }
      },
    })
  }
  const [a, b] = [await make(), await make()]
  await a.get('/data')
  t.ok(await eventually(async () => (await b.get('/data')).xcache === 'HIT'), 'the entry reached the other instance')

  clock.advance(30_000)
  t.equal((await a.get('/data')).xcache, 'STALE', 'A serves stale and refreshes')
  t.ok(await eventually(() => gate.reached === 1), "A's refresh runs, holding the lock")
  const before = await setCalls(redis)
  const replies = []
  for (let i = 0; i < 20; i++) replies.push(await b.get('/data'))
  const sent = (await setCalls(redis)) - before
  t.comment(`${replies.length} stale requests on B sent ${sent} SET NX`)
  t.ok(replies.every((r) => r.xcache === 'STALE'), 'B serves stale meanwhile')
  t.equal(sent, 1, 'one lock attempt for the refresh on B')

  gate.open()
  t.ok(await eventually(async () => (await b.get('/data')).xcache === 'HIT'), "B finds A's refreshed entry")
  t.equal(computations, 2, 'one refresh for the two instances')
})
