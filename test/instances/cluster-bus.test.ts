/**
 * The invalidation channel on a 3-master Redis Cluster: invalidate() and clear() on one instance
 * reach the in-process tier (L1) of instances whose subscription is on another master than the
 * one the PUBLISH went to. Each instance's subscriber picks a master at random, so the test
 * finds out where each one landed (PUBSUB NUMSUB, which a Cluster node answers for its own
 * subscribers) and where each PUBLISH went (INFO commandstats on every node), and only counts a
 * delivery as crossing nodes when it did.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { eventually, harness, quietLogger, TestClock, type Harness } from '../cache/harness.js'
import { redisCall } from '../support/probe.js'
import { clusterFor } from '../support/redis.js'

type Node = { host: string; port: number }

/** At most this many instances are started while looking for subscriptions on two masters: (1/3)^11 that they never spread. */
const MAX_INSTANCES = 12

async function subscribers(node: Node, channel: string): Promise<number> {
  const [, count] = (await redisCall(node.host, node.port, ['PUBSUB', 'NUMSUB', channel])) as [string, number]
  return Number(count)
}

async function publishes(node: Node): Promise<number> {
  const stats = String(await redisCall(node.host, node.port, ['INFO', 'commandstats']))
  return Number(/cmdstat_publish:calls=(\d+)/.exec(stats)?.[1] ?? 0)
}

t.test('on a 3-master Cluster, invalidate() and clear() reach L1 of instances subscribed on other masters', async (t) => {
  const cluster = await clusterFor(t)
  const namespace = `cb${randomUUID().slice(0, 6)}`
  const channel = `${namespace}:!invalidations`
  const clock = new TestClock()
  const state = { version: 0 }
  const instances: Array<{ h: Harness; node: number }> = []

  const counts = () => Promise.all(cluster.nodes.map((node) => subscribers(node, channel)))
  while (instances.length < 3 || new Set(instances.map((i) => i.node)).size < 2) {
    if (instances.length === MAX_INSTANCES) throw new Error(`${MAX_INSTANCES} subscriptions, all on one master`)
    const before = await counts()
    const store = new RedisStore({ clusterNodes: cluster.nodes, operationTimeout: 1_000, logger: quietLogger() })
    t.equal(await store.ready(), true)
    const h = await harness(t, {
      kind: 'memory',
      clock,
      cache: { store, namespace, l1: { maxBytes: 1 << 20 } },
      handler: (ctx) => void (ctx.body = { v: state.version }),
    })
    t.ok(await eventually(async () => (await h.cache.health()).l1?.channel === 'subscribed', 10_000), 'subscribed')
    let after: number[] = before
    t.ok(await eventually(async () => (after = await counts()).reduce((a, b) => a + b) === instances.length + 1, 10_000), 'the subscription shows on a master')
    instances.push({ h, node: after.findIndex((count, i) => count > before[i]!) })
  }
  // A publisher whose peers sit on two masters: wherever its PUBLISH lands, one of them is elsewhere.
  const publisher = instances.find((candidate) => new Set(instances.filter((i) => i !== candidate).map((i) => i.node)).size >= 2)!
  const receivers = instances.filter((i) => i !== publisher)
  t.comment(`subscriptions on masters ${instances.map((i) => cluster.nodes[i.node]!.port).join(', ')}; publishing from the one on ${cluster.nodes[publisher.node]!.port}`)

  for (const how of ['invalidate', 'clear'] as const) {
    for (const { h } of instances) {
      const holds = async () => {
        const reply = await h.get('/data')
        return JSON.parse(reply.text).v === state.version && reply.xcache === 'HIT' && (await h.cache.health()).l1!.entries > 0
      }
      t.ok(await eventually(holds, 10_000), `every instance holds version ${state.version} in L1`)
    }
    const received = await Promise.all(receivers.map(async ({ h }) => (await h.cache.health()).l1!.messages_received))
    const before = await Promise.all(cluster.nodes.map(publishes))
    state.version++
    await (how === 'clear' ? publisher.h.cache.clear() : publisher.h.cache.invalidate('data'))

    for (const [i, { h }] of receivers.entries()) {
      t.ok(await eventually(async () => (await h.cache.health()).l1!.messages_received === received[i]! + 1, 10_000), `${how}(): message received`)
      t.equal(JSON.parse((await h.get('/data')).text).v, state.version, `${how}(): the receiver no longer serves its L1 copy`)
    }
    const sent = (await Promise.all(cluster.nodes.map(publishes))).map((count, i) => count - before[i]!)
    t.equal(sent.reduce((a, b) => a + b), 1, `${how}(): one PUBLISH`)
    const landed = sent.findIndex((count) => count === 1)
    const elsewhere = receivers.filter((r) => r.node !== landed)
    t.ok(elsewhere.length > 0, `${how}(): PUBLISH went to ${cluster.nodes[landed]!.port}; ${elsewhere.length} receiver(s) subscribed on another master got it`)
  }
})
