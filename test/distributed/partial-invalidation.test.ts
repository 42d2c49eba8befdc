/**
 * Issue 19, item 3: an invalidation that cannot reach every master of a
 * Cluster is reported as partial (answer and log) and retried until it does.
 */
import t from 'tap'
import clusterKeySlot from 'cluster-key-slot'
import { Redis, type Cluster } from 'ioredis'
import { RedisStore } from '../../adapters/redis.js'
import { harness, quietLogger, eventually } from '../cache/harness.js'
import { clusterFor } from '../support/redis.js'
import { engineOf } from '../../src/cache/engine.js'

t.test('on a Cluster, clear() with one master not answering is partial, then retried until done', async (t) => {
  const cluster = await clusterFor(t)
  const logger = quietLogger()
  // A budget well above a loaded machine's latency, well below the pause.
  const store = new RedisStore({ clusterNodes: cluster.nodes, logger, operationTimeout: 500 })
  t.equal(await store.ready(), true)
  const h = await harness(t, { kind: 'memory', logger, cache: { store, probeInterval: 200 } })

  // One key per route name, spread over the three masters.
  const keys = Array.from({ length: 30 }, (_, i) => `${h.namespace}:{r${i}}:1`)
  for (const key of keys) await store.set(key, 'x', 60_000)
  const client = store.client as Cluster
  const masterOf = (key: string) => client.slots[clusterKeySlot(key)]?.[0]
  // Not the master of the namespace's generation counter: clear() moves it first, and a master
  // that cannot take that is a failed clear (remembered and replayed), not a partial one.
  const paused = client.nodes('master').find((node) => `${node.options.host}:${node.options.port}` !== masterOf(`${h.namespace}!gen`))!
  const pausedKey = `${paused.options.host}:${paused.options.port}`
  const onPaused = keys.filter((key) => masterOf(key) === pausedKey)
  t.ok(onPaused.length > 0 && onPaused.length < keys.length, `${onPaused.length} of ${keys.length} keys on the paused master`)

  const admin = new Redis({ host: paused.options.host, port: paused.options.port })
  t.teardown(() => admin.disconnect())
  await admin.call('CLIENT', 'PAUSE', '2000', 'ALL')
  const removed = await h.cache.clear()
  t.equal(removed, keys.length - onPaused.length, 'the reachable masters were cleared at once')
  t.ok(h.cache.pendingInvalidations > 0, 'the answer can say it was partial')
  t.ok(logger.lines.some((l) => (l.obj as { event?: string }).event === 'cache_invalidation_partial'), 'logged as partial')
  t.equal(engineOf(h.cache).store.state, 'closed', 'one master not answering does not open the circuit for all')

  t.ok(await eventually(() => h.cache.pendingInvalidations === 0, 10_000), 'retried until it reached every master')
  for (const key of onPaused) t.equal(await store.get(key), undefined, `${key} is gone`)
  t.ok(logger.lines.some((l) => (l.obj as { event?: string }).event === 'cache_invalidation_complete'), 'completion logged')
})
