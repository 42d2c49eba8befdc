/**
 * Roles seen from the outside (issue 17, item 7): a promoted replica is noticed by the next write,
 * not by the periodic role check, and the resumption is logged; while the circuit is open, health
 * reports the last role seen and when.
 */
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { eventually, harness, quietLogger } from '../cache/harness.js'
import { redisCall } from '../support/probe.js'
import { canStartTopologies, redisFor, replicaPairFor } from '../support/redis.js'
import { engineOf } from '../../src/cache/engine.js'

const events = (lines: Array<{ obj: unknown }>, name: string) => lines.filter((l) => (l.obj as { event?: string }).event === name)

t.test('a promotion is noticed by the next write and logged', { skip: !(await canStartTopologies()) && 'needs replica pairs' }, async (t) => {
  const { replica } = await replicaPairFor(t)
  const logger = quietLogger()
  // No periodic role check at all: only the write path can notice the promotion.
  const store = new RedisStore({ url: replica.url, logger, roleCheckInterval: 0, operationTimeout: 1000 })
  t.teardown(() => store.disconnect())
  t.equal(await store.ready(), true)
  t.equal(await store.set('roles:k', 'v'), false, 'a replica skips the write')
  await redisCall(replica.host, replica.port, ['REPLICAOF', 'NO', 'ONE'])
  t.ok(
    await eventually(async () => (await store.set('roles:k', 'v')) === true, 10_000),
    'writes resume without the periodic check',
  )
  t.equal(store.role, 'master')
  t.equal(events(logger.lines, 'redis_writes_resumed').length, 1, 'one line says writes resumed')
})

t.test('while the circuit is open, health reports the last role seen and when', async (t) => {
  const server = await redisFor(t)
  const logger = quietLogger()
  const store = new RedisStore({ url: server.url, logger })
  await store.ready()
  const h = await harness(t, { kind: 'memory', logger, cache: { store, failureThreshold: 1, probeInterval: 200 } })
  await h.get('/data')
  const before = await h.cache.health()
  t.equal(before.role, 'master')
  await server.pause()
  t.teardown(() => server.resume().catch(() => {}))
  await h.get('/data?down=1')
  t.ok(await eventually(() => engineOf(h.cache).store.state !== 'closed'), 'the circuit opened')
  const during = await h.cache.health()
  t.equal(during.serving, 'fallback')
  t.equal(during.role, 'master', 'the last role seen, not null')
  t.type(during.role_seen_at, 'string')
  t.equal(new Date(during.role_seen_at!).getTime(), h.clock.now(), 'seen at the last answer, on the cache clock')
})
