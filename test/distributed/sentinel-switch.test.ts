/**
 * Issue 19, item 4: after `SENTINEL FAILOVER` the old primary still says it is a master until
 * Sentinel demotes it (about ten seconds later), so a role check cannot see the switch. The store
 * follows Sentinel's +switch-master instead: writes and the invalidation channel move to the new
 * primary while the old one still says master, and invalidations that landed on the old primary
 * around the switch are applied again on the new one.
 */
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { MemoryStore } from '../../adapters/memory.js'
import { ResilientStore } from '../../src/cache/resilient-store.js'
import { redisCall, waitUntil } from '../support/probe.js'
import { canStartTopologies, sentinelFor, type RedisServer, type RedisSentinelHandle } from '../support/redis.js'

if (!(await canStartTopologies())) t.plan(0, 'Sentinel needs redis-server or a Docker engine')

const quiet = { warn() {}, info() {} }

async function roleOf(server: RedisServer): Promise<string> {
  const info = String(await redisCall(server.host, server.port, ['INFO', 'replication']))
  return /role:(\w+)/.exec(info)?.[1] ?? 'unknown'
}

/** Sentinel answers NOGOODSLAVE until it has had a recent INFO from the replica: asked again until it starts. */
function failover(sentinel: RedisSentinelHandle): Promise<void> {
  const [first] = sentinel.sentinels
  return waitUntil('Sentinel to start a failover', async () => (await redisCall(first!.host, first!.port, ['SENTINEL', 'FAILOVER', sentinel.name])) === 'OK', { intervalMs: 200 })
}

function storeOn(t: Test, sentinel: RedisSentinelHandle): RedisStore {
  const store = new RedisStore({ sentinels: sentinel.sentinels, sentinelName: sentinel.name, logger: quiet })
  t.teardown(() => store.disconnect())
  return store
}

t.test('after SENTINEL FAILOVER, writes land on the new primary while the old one still says master', async (t) => {
  const sentinel = await sentinelFor(t)
  const store = storeOn(t, sentinel)
  t.equal(await store.ready(), true)
  t.equal(await store.set(`switch:${randomUUID()}`, 'before'), true)

  await failover(sentinel)
  const started = Date.now()
  // Until then the old primary's writes replicate to it: only a write seen after it counts.
  await waitUntil('the replica to be promoted', async () => (await roleOf(sentinel.replica)) === 'master', { timeoutMs: 30_000, intervalMs: 10 })
  let landed = ''
  await waitUntil(
    'a write to reach the new primary',
    async () => {
      const key = `switch:${randomUUID()}`
      await store.set(key, 'after').catch(() => false)
      if ((await redisCall(sentinel.replica.host, sentinel.replica.port, ['GET', key])) !== 'after') return false
      landed = key
      return true
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  )
  const ms = Date.now() - started
  const oldRole = await roleOf(sentinel.primary)
  t.comment(`writes reached the new primary ${ms} ms after SENTINEL FAILOVER; the old primary says ${oldRole}`)
  t.ok(landed, 'a write reached the new primary')
  t.equal(oldRole, 'master', 'the store moved before Sentinel demoted the old primary: it followed +switch-master')
  t.equal(store.role, 'master')
})

t.test('an invalidation that landed on the old primary after the promotion is applied again on the new one', async (t) => {
  const sentinel = await sentinelFor(t)
  const redis = storeOn(t, sentinel)
  t.equal(await redis.ready(), true)
  const store = new ResilientStore(redis, new MemoryStore(), { operationTimeout: 150, failureThreshold: 3, probeInterval: 200, logger: quiet, namespace: 'sw' })
  t.teardown(() => store.close())
  const keys = Array.from({ length: 5 }, (_, i) => `sw:{r}:${i}`)
  for (const key of keys) t.equal(await store.set(key, 'old answer', 60_000), true)
  const onReplica = (key: string) => redisCall(sentinel.replica.host, sentinel.replica.port, ['GET', key])
  await waitUntil('the keys to reach the replica', async () => (await onReplica(keys[4]!)) === 'old answer')

  await failover(sentinel)
  // The replica is promoted first; Sentinel announces the switch only once it has seen that.
  await waitUntil('the replica to be promoted', async () => (await roleOf(sentinel.replica)) === 'master', { timeoutMs: 30_000, intervalMs: 10 })
  const removed = await store.invalidations.deletePrefix('sw:{r}:', (s) => s.deletePrefix!('sw:{r}:'))
  const stillThere = (await onReplica(keys[0]!)) === 'old answer'
  t.comment(`the invalidation removed ${removed} keys; the new primary ${stillThere ? 'still held them (it landed on the old primary)' : 'had already lost them'}`)

  await waitUntil('the store to write on the new primary', async () => {
    const key = `sw:probe:${randomUUID()}`
    await store.set(key, 'x', 60_000)
    return (await onReplica(key)) === 'x'
  }, { timeoutMs: 30_000 })
  await waitUntil('the invalidation to reach the new primary', async () => (await Promise.all(keys.map(onReplica))).every((v) => v === null), { timeoutMs: 10_000 })
  for (const key of keys) t.equal(await onReplica(key), null, `${key} is gone from the new primary`)
  t.equal(store.invalidations.pending, 0, 'nothing left to replay')
})

t.test('the invalidation channel follows the new primary too', async (t) => {
  const sentinel = await sentinelFor(t)
  const store = storeOn(t, sentinel)
  t.equal(await store.ready(), true)
  const pubsub = store.pubsub()
  t.teardown(() => pubsub.close())
  const states: string[] = []
  const got: string[] = []
  await pubsub.subscribe('sw:!invalidations', (m) => got.push(m), (s) => states.push(s))
  await waitUntil('subscribed', async () => states.at(-1) === 'subscribed')

  await failover(sentinel)
  await waitUntil('the replica to be promoted', async () => (await roleOf(sentinel.replica)) === 'master', { timeoutMs: 30_000, intervalMs: 10 })
  // PUBLISH on the new primary reaches only its own subscribers until the old one replicates from it.
  await waitUntil(
    'the subscription to move to the new primary',
    async () => Number(await redisCall(sentinel.replica.host, sentinel.replica.port, ['PUBLISH', 'sw:!invalidations', 'hello'])) > 0,
    { timeoutMs: 30_000, intervalMs: 50 },
  )
  const oldRole = await roleOf(sentinel.primary)
  t.equal(oldRole, 'master', 'moved before Sentinel demoted the old primary')
  t.ok(states.includes('down'), 'the loss was reported, so in-process copies were not trusted meanwhile')
  t.equal(states.at(-1), 'subscribed')
  await waitUntil('the message to arrive', async () => got.includes('hello'))
})
