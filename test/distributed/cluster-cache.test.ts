import t from 'tap'
import clusterKeySlot from 'cluster-key-slot'
import type { Cluster } from 'ioredis'
import { RedisStore } from '../../adapters/redis.js'
import { harness, quietLogger, eventually } from '../cache/harness.js'
import { clusterFor } from '../support/redis.js'

t.test('on a Redis Cluster, a route keeps its buckets in one slot and reads both in one MGET', async (t) => {
  const cluster = await clusterFor(t)
  const store = new RedisStore({ clusterNodes: cluster.nodes, logger: quietLogger() })
  t.equal(await store.ready(), true)
  t.equal(store.cluster, true)
  const h = await harness(t, { kind: 'memory', cache: { store } })

  const client = store.client as Cluster
  const mgets: string[][] = []
  const original = client.mgetBuffer.bind(client)
  client.mgetBuffer = ((...keys: string[]) => {
    mgets.push(keys)
    return original(...keys)
  }) as typeof client.mgetBuffer

  const first = await h.get('/data?v=1')
  t.equal(first.xcache, 'MISS')
  t.ok(await eventually(async () => (await h.get('/data?v=1')).xcache === 'HIT'))
  const [current, previous] = mgets.at(-1)!
  t.match(current, new RegExp(`^${h.namespace}:\\{data\\}:\\d+:`), 'hash-tagged key')
  t.equal(clusterKeySlot(current!), clusterKeySlot(previous!), 'current and previous bucket share a slot')

  h.clock.advance(30_000)
  const stale = await h.get('/data?v=1')
  t.equal(stale.xcache, 'STALE', 'the previous bucket is found across the rollover')
  t.same(stale.bytes, first.bytes)
  t.ok(await eventually(async () => (await h.get('/data?v=1')).xcache === 'HIT'), 'refreshed')

  t.ok((await h.cache.invalidate('data')) >= 2, 'invalidate reaches the masters holding the route')
  t.equal((await h.get('/data?v=1')).xcache, 'MISS')
})
