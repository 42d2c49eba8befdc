/**
 * Redis out of memory under noeviction (issue 17, item 1): reads keep working, every write is
 * refused with OOM. The answer is kept locally so each key is computed once per bucket, one
 * warning says writes are refused and one line says they are accepted again, and health says why.
 */
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { eventually, harness, quietLogger } from '../cache/harness.js'
import { redisCall } from '../support/probe.js'
import { redisFor } from '../support/redis.js'
import { engineOf } from '../../src/cache/engine.js'

const events = (lines: Array<{ obj: unknown }>, name: string) => lines.filter((l) => (l.obj as { event?: string }).event === name)

t.test('writes refused with OOM: answers kept locally, one warning each way, health says why', async (t) => {
  const server = await redisFor(t, { args: ['--maxmemory-policy', 'noeviction'] })
  const logger = quietLogger()
  const store = new RedisStore({ url: server.url, logger })
  await store.ready()
  const h = await harness(t, { kind: 'memory', logger, cache: { store, failureThreshold: 2, probeInterval: 200 } })
  // Any write now goes over the limit: Redis answers OOM to SET (and SET NX), never to GET.
  await redisCall(server.host, server.port, ['CONFIG', 'SET', 'maxmemory', '1'])

  const replies = []
  for (let i = 0; i < 6; i++) replies.push(await h.get('/data'))
  for (let i = 0; i < 4; i++) await h.get(`/data?other=${i}`)
  t.same(replies.map((r) => r.status), [200, 200, 200, 200, 200, 200], 'no request failed')
  t.equal(replies[0]!.xcache, 'MISS')
  t.ok(replies.slice(1).every((r) => r.xcache === 'HIT'), 'later requests are hits from the local copy')
  t.equal(h.calls(), 5, 'one computation per key: /data once, and each of the four others once')
  t.equal(await store.countPrefix(`${h.namespace}:`), 0, 'nothing reached Redis')
  t.equal(engineOf(h.cache).store.state, 'closed', 'the circuit stays closed: Redis still answers reads')
  t.equal(events(logger.lines, 'cache_store_down').length, 0, 'no circuit storm')
  const refused = events(logger.lines, 'cache_store_writes_refused')
  t.equal(refused.length, 1, 'one warning when writes start failing')
  t.match(refused[0]?.obj, { code: 'E_STORE_OOM', cause: { name: 'ReplyError', message: /^OOM / } }, 'the warning carries the cause')
  const health = await h.cache.health()
  t.equal(health.status, 'degraded')
  t.equal(health.writesRefused, true)
  t.match(health.reason, /^E_STORE_OOM: /)

  await redisCall(server.host, server.port, ['CONFIG', 'SET', 'maxmemory', '0'])
  // Only hits from here: the cache's own test write must notice that Redis takes writes again.
  t.ok(await eventually(() => events(logger.lines, 'cache_store_writes_resumed').length > 0), 'noticed without any request')
  t.equal(events(logger.lines, 'cache_store_writes_resumed').length, 1, 'one line when writes recover')
  await h.get('/data?after=1')
  t.ok(await eventually(async () => (await store.countPrefix(`${h.namespace}:`)) > 0), 'writes reach Redis again')
  const after = await h.cache.health()
  t.equal(after.status, 'ok')
  t.equal(after.reason, null)
  t.equal(after.writesRefused, false)
})
