/**
 * On a Cluster, a store operation never outlives the cache's budget (issue 19, item 1). After a
 * master goes away, ioredis retries a command on a closed connection with slot refreshes, well
 * past the command timeout, so RedisStore does not claim to time itself there and the cache arms
 * its own timer: a request is answered while the store's own command is still pending.
 */
import t from 'tap'
import clusterKeySlot from 'cluster-key-slot'
import { RedisStore } from '../../adapters/redis.js'
import { harness, quietLogger } from '../cache/harness.js'
import { redisCall } from '../support/probe.js'
import { canStartTopologies, clusterFor } from '../support/redis.js'
import { engineOf } from '../../src/cache/engine.js'

if (!(await canStartTopologies())) t.plan(0, 'a Cluster needs redis-server or a Docker engine')

/** The three masters' slot ranges, as test/support/redis.ts assigns them. */
const RANGES = [[0, 5460], [5461, 10922], [10923, 16383]] as const

t.test('a master gone: the cache answers within its budget while the store command is still pending', async (t) => {
  const cluster = await clusterFor(t)
  const store = new RedisStore({ clusterNodes: cluster.nodes, logger: quietLogger() })
  t.equal(await store.ready(), true)
  t.equal(store.settlesWithinMs, undefined, 'a Cluster store does not claim to bound its own operations')
  const h = await harness(t, { kind: 'memory', cache: { store, failureThreshold: 100 } })
  const key = `${h.namespace}:{data}:1`
  const owner = cluster.nodes[RANGES.findIndex(([from, to]) => clusterKeySlot(key) >= from && clusterKeySlot(key) <= to)]!
  await redisCall(owner.host, owner.port, ['SHUTDOWN', 'NOSAVE']).catch(() => {}) // the reply never comes: it is gone

  const order: string[] = []
  const direct = store.get(key).then(
    () => order.push('store'),
    () => order.push('store'),
  )
  const cached = engineOf(h.cache).store.get(key).then((value) => {
    order.push('cache')
    return value
  })
  t.equal(await cached, undefined, 'the cache reads a miss, it does not throw')
  await direct
  t.same(order, ['cache', 'store'], "the cache's answer came before the store's own command settled")

  const reply = await h.get('/data')
  t.equal(reply.status, 200, 'a request on the dead slot is answered')
})
