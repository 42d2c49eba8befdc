/**
 * The generation counters behind "an invalidation wins over a running
 * computation" (src/cache/generations.ts), on each kind of store: MemoryStore,
 * RedisStore on a standalone server and on a Cluster, and the best effort for
 * a Keyv store without the extras.
 */
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import clusterKeySlot from 'cluster-key-slot'
import { MemoryStore } from '../../adapters/memory.js'
import { RedisStore } from '../../adapters/redis.js'
import type { CacheStore } from '../../adapters/contract.js'
import { bumpGenerations, generationsOf, readGenerations, routeGeneration, setIfGenerations } from '../../src/cache/generations.js'
import { keyPrefix } from '../../src/cache/keys.js'
import { quietLogger, sharedRedis } from '../cache/harness.js'
import { PlainStore } from '../cache/plain-store.js'
import { clusterFor } from '../support/redis.js'

t.test('generation keys stand outside the namespace and share the route slot', async (t) => {
  const tagged = `${keyPrefix('energy', 'gradient', true)}58312345`
  t.equal(routeGeneration(tagged), 'energy!gen:{gradient}')
  t.equal(clusterKeySlot(routeGeneration(tagged)!), clusterKeySlot(tagged))
  t.equal(routeGeneration('energy:gradient:58312345:abc'), 'energy!gen:gradient')
  t.equal(routeGeneration('energy:gradient:resource:1'), 'energy!gen:gradient', 'a resource shares its route counter')
  t.same(generationsOf('energy:gradient:1', 'energy'), ['energy!gen:gradient', 'energy!gen'])
  t.equal(routeGeneration('not-a-cache-key'), undefined)
  t.notOk(routeGeneration(tagged)!.startsWith('energy:'), 'clear() of `energy:` never deletes a counter')
})

async function checks(t: Test, store: CacheStore, tagged: boolean): Promise<void> {
  const ns = `g${randomUUID().slice(0, 8)}`
  const key = `${keyPrefix(ns, 'data', tagged)}1`
  const guards = generationsOf(key, ns)
  const read = { keys: guards, values: await readGenerations(store, guards) }
  t.same(read.values, ['', ''], 'counters never moved read as empty')
  t.equal(await setIfGenerations(store, key, 'v1', 60_000, read), true, 'stored while nothing moved')
  t.equal(await store.get(key), 'v1')

  for (const moved of guards) {
    const before = { keys: guards, values: await readGenerations(store, guards) }
    await bumpGenerations(store, [moved])
    const after = await readGenerations(store, guards)
    t.not(after[guards.indexOf(moved)], before.values[guards.indexOf(moved)], `${moved} moved`)
    await store.delete(key)
    t.equal(await setIfGenerations(store, key, 'old', 60_000, before), false, `refused once ${moved} moved`)
    t.equal(await store.get(key), undefined, 'nothing written (or taken back)')
    t.equal(await setIfGenerations(store, key, 'new', 60_000, { keys: guards, values: after }), true, 'a computation started after it is stored')
    t.equal(await store.get(key), 'new')
  }
}

t.test('MemoryStore: check and write in one step', (t) => checks(t, new MemoryStore(), false))

t.test('a Keyv store without the extras: check, write, check again', (t) => checks(t, new PlainStore() as unknown as CacheStore, false))

t.test('RedisStore on one server: the Lua script', async (t) => {
  const store = new RedisStore({ url: (await sharedRedis()).url, logger: quietLogger() })
  await store.ready()
  t.teardown(() => store.disconnect())
  await checks(t, store, false)
  const [key] = [`g${randomUUID().slice(0, 8)}!gen:x`]
  await store.bumpGenerations([key], 5_000)
  const ttl = await store.client.pttl(key)
  t.ok(ttl > 0 && ttl <= 5_000, 'a counter expires after its TTL, so unused ones do not pile up')
})

t.test('RedisStore on a Cluster: the route counter in the script, the namespace counter right after', async (t) => {
  const cluster = await clusterFor(t)
  const store = new RedisStore({ clusterNodes: cluster.nodes, logger: quietLogger() })
  t.equal(await store.ready(), true)
  t.teardown(() => store.disconnect())
  await checks(t, store, true)
  const ns = `g${randomUUID().slice(0, 8)}`
  const spread = [`${ns}!gen`, `${ns}!gen:{a}`, `${ns}!gen:{b}`, `${ns}!gen:{c}`]
  await store.bumpGenerations(spread, 60_000)
  t.same(await store.readGenerations(spread), ['1', '1', '1', '1'], 'counters in several slots move in one call')
  // Scripts for keys on different masters, sent in one tick, must not share one pipeline.
  const keys = ['p', 'q', 'r', 's', 't', 'u'].map((route) => `${ns}:{${route}}:1`)
  const stored = await Promise.all(keys.map((key) => store.setIfGenerations(key, 'v', 60_000, [routeGeneration(key)!], [''])))
  t.same(stored, keys.map(() => true), 'guarded writes to several masters at once')
  const locks = await Promise.all(keys.map((key) => store.acquireLock(`${key}!lock`, 60_000)))
  await Promise.all(keys.map((key, i) => store.releaseLock(`${key}!lock`, locks[i] as string)))
  t.same(await Promise.all(keys.map((key) => store.get(`${key}!lock`))), keys.map(() => undefined), 'lock releases to several masters at once')
})
