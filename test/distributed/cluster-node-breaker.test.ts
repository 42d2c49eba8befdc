/**
 * Issue 19, item 2: on a Cluster the breaker follows the master that failed. With one master
 * dead, the store's single circuit never opened (each success on the other masters reset its
 * count) while every operation on the dead master's keys paid the whole time budget; once it did
 * open, every route went to memory without the cross-instance lock, and the probe (a PING to any
 * node) closed it again while the master was still dead. Now the dead master's circuit opens for
 * its keys only, the other routes keep Redis and the lock, and the probe asks the dead master.
 */
import t from 'tap'
import { engineOf } from '../../src/cache/engine.js'
import clusterKeySlot from 'cluster-key-slot'
import type { Cluster } from 'ioredis'
import { RedisStore } from '../../adapters/redis.js'
import { harness, quietLogger, eventually } from '../cache/harness.js'
import { redisCall } from '../support/probe.js'
import { canStartTopologies, clusterFor } from '../support/redis.js'

if (!(await canStartTopologies())) t.plan(0, 'a Cluster needs redis-server or a Docker engine')

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('a dead master opens the circuit of its own keys only; the others keep Redis and the lock', async (t) => {
  // The other masters keep answering past the node timeout, as with replicas being promoted.
  const cluster = await clusterFor(t, { fullCoverage: false })
  const logger = quietLogger()
  const store = new RedisStore({ clusterNodes: cluster.nodes, logger, operationTimeout: 500 })
  t.equal(await store.ready(), true)
  const h = await harness(t, { kind: 'memory', logger, cache: { store, operationTimeout: 600, probeInterval: 200 } })
  const client = store.client as Cluster
  const masterOf = (key: string) => client.slots[clusterKeySlot(key)]?.[0]
  const keyOf = (route: string) => `${h.namespace}:{${route}}:1`
  const routes = Array.from({ length: 12 }, (_, i) => `r${i}`)
  // Not the master of the namespace's counter, which every guarded write reads.
  const nsMaster = masterOf(`${h.namespace}!gen`)
  const dead = cluster.nodes.find((n) => `${n.host}:${n.port}` !== nsMaster)!
  const deadNode = `${dead.host}:${dead.port}`
  const onDead = routes.find((r) => masterOf(keyOf(r)) === deadNode)!
  const alive = routes.find((r) => masterOf(keyOf(r)) !== deadNode)!
  for (const route of [onDead, alive]) t.equal(await engineOf(h.cache).store.set(keyOf(route), 'from redis', 60_000), true)

  await redisCall(dead.host, dead.port, ['SHUTDOWN', 'NOSAVE']).catch(() => {}) // gone before it answers
  // Operations on both routes, interleaved, past the Cluster's node timeout (2 s).
  const deadline = Date.now() + 4_000
  let aliveReads = 0
  let aliveLocks = 0
  let rounds = 0
  while (Date.now() < deadline) {
    await engineOf(h.cache).store.get(keyOf(onDead))
    if ((await engineOf(h.cache).store.get(keyOf(alive))) === 'from redis') aliveReads++
    const token = await engineOf(h.cache).store.acquireLock(`${keyOf(alive)}!lock`, 1_000)
    if (typeof token === 'string') {
      aliveLocks++
      await engineOf(h.cache).store.releaseLock(`${keyOf(alive)}!lock`, token)
    }
    rounds++
    await sleep(50)
  }
  t.comment(`${rounds} rounds: the live route read from Redis ${aliveReads} times, took the shared lock ${aliveLocks} times`)
  t.same(engineOf(h.cache).store.openNodes, [deadNode], "only the dead master's circuit is open")
  t.equal(engineOf(h.cache).store.state, 'closed', "the store's circuit stays closed")
  t.equal(aliveReads, rounds, 'the live route read from Redis throughout')
  t.equal(aliveLocks, rounds, 'and took the cross-instance lock throughout')
  const health = await h.cache.health()
  t.same(health.nodes_down, [deadNode], 'health names the dead master')
  t.equal(health.degraded, true)

  const events = logger.lines.map((l) => l.obj as { event?: string; node?: string })
  t.equal(events.filter((e) => e.event === 'cache_store_down').length, 1, 'logged once')
  t.equal(events.find((e) => e.event === 'cache_store_down')?.node, deadNode, 'naming the dead master')
  t.notOk(events.some((e) => e.event === 'cache_store_up'), 'the probe asks the dead master: it never closes the circuit while it is dead')
  t.ok(await eventually(() => events.length > 0 && logger.lines.some((l) => (l.obj as { event?: string }).event === 'cache_probe_failed'), 5_000), 'the probe failure is logged')
})
