/**
 * Issue 19, item 6: with a Cluster master dead, keys_count quietly dropped its keys (5 -> 3).
 * The count of the masters that answer is kept, and health says it is partial, as /health does.
 */
import t from 'tap'
import { RedisStore, PartialCountError } from '../../adapters/redis.js'
import { harness, quietLogger, eventually } from '../cache/harness.js'
import { redisCall } from '../support/probe.js'
import { canStartTopologies, clusterFor } from '../support/redis.js'

if (!(await canStartTopologies())) t.plan(0, 'a Cluster needs redis-server or a Docker engine')

t.test('a dead master: keys_count counts the others and says it is partial', async (t) => {
  const cluster = await clusterFor(t)
  const store = new RedisStore({ clusterNodes: cluster.nodes, logger: quietLogger(), operationTimeout: 500 })
  t.equal(await store.ready(), true)
  const h = await harness(t, { kind: 'memory', cache: { store, failureThreshold: 1000 } })
  // One key per route name, spread over the three masters.
  const keys = Array.from({ length: 30 }, (_, i) => `${h.namespace}:{r${i}}:1`)
  for (const key of keys) await store.set(key, 'x', 60_000)
  const whole = await h.cache.health()
  t.equal(whole.keys_count, keys.length)
  t.equal(whole.keys_count_partial, false)

  const [dead] = cluster.nodes
  const onDead = Number(await redisCall(dead!.host, dead!.port, ['DBSIZE']))
  t.ok(onDead > 0 && onDead < keys.length, `${onDead} keys on the master that dies`)
  await redisCall(dead!.host, dead!.port, ['SHUTDOWN', 'NOSAVE']).catch(() => {}) // gone before it answers

  await t.rejects(store.countPrefix(`${h.namespace}:`), PartialCountError, 'the store says its count is partial')
  let health = await h.cache.health()
  t.ok(await eventually(async () => (health = await h.cache.health()).keys_count_partial, 10_000), 'health says the count is partial')
  t.equal(health.keys_count, keys.length - onDead, 'the masters that answer are counted')
})
