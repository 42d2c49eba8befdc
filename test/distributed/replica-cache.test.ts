import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { harness, quietLogger, eventually } from '../cache/harness.js'
import { replicaPairFor } from '../support/redis.js'

t.test('an instance on a read replica serves hits and computes misses without writing', async (t) => {
  const pair = await replicaPairFor(t)
  const logger = quietLogger()
  const primaryStore = new RedisStore({ url: pair.primary.url, logger })
  const replicaStore = new RedisStore({ url: pair.replica.url, logger })
  await Promise.all([primaryStore.ready(), replicaStore.ready()])
  t.ok(await eventually(() => replicaStore.readOnly), 'the replica role is detected')

  const writer = await harness(t, { kind: 'memory', cache: { store: primaryStore, namespace: 'energy' } })
  const reader = await harness(t, { kind: 'memory', logger, clock: writer.clock, cache: { store: replicaStore, namespace: 'energy' } })

  const written = await writer.get('/data?from=primary')
  t.ok(await eventually(async () => (await reader.get('/data?from=primary')).xcache === 'HIT'), 'a hit replicated from the primary')
  t.same((await reader.get('/data?from=primary')).bytes, written.bytes)

  const computed = await reader.get('/data?from=replica')
  t.equal(computed.xcache, 'MISS')
  t.equal(computed.status, 200)
  const again = await reader.get('/data?from=replica')
  t.equal(again.xcache, 'HIT', 'kept in local memory, so the replica instance does not compute it again')
  t.same(again.bytes, computed.bytes)
  t.equal(await primaryStore.countPrefix('energy:'), 1, 'nothing the replica instance computed reached Redis')
  t.equal((await reader.cache.health()).readOnly, true)
  t.equal((await reader.cache.health()).degraded, false, 'read-only is not an outage')
  const skipped = logger.lines.filter((l) => l.msg === 'Redis set skipped (read-only)')
  t.equal(skipped.length, 1, 'one warning for all the skipped writes')
})
