import { randomUUID } from 'node:crypto'
import clusterKeySlot from 'cluster-key-slot'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { storeConformance } from '../conformance/suite.js'
import { canStartTopologies, startCluster } from '../support/redis.js'

if (!(await canStartTopologies())) t.plan(0, 'a Cluster needs redis-server or a Docker engine')
const cluster = await startCluster()
t.teardown(() => cluster.stop())
const { nodes } = cluster

storeConformance(t, { make: () => new RedisStore({ clusterNodes: nodes, operationTimeout: 1_000 }), rawBinary: true })

/**
 * A store connected to the Cluster: with no offline queue, a first command sent before the slots
 * are known fails ("Cluster isn't ready"), and these tests are about what comes after.
 */
async function store(t: Test): Promise<RedisStore> {
  // A roomy operation timeout: these tests are about reaching every master, not about latency.
  const made = new RedisStore({ clusterNodes: nodes, logger: { warn() {} }, operationTimeout: 1_000 })
  t.teardown(() => made.disconnect())
  t.equal(await made.ready(), true, 'the store is connected to the Cluster')
  return made
}

/** One plain client per master, to look at each behind the store's back. */
function masters(t: Test): Redis[] {
  return nodes.map(({ host, port }) => {
    const client = new Redis({ host, port, maxRetriesPerRequest: 0 })
    client.on('error', () => {})
    t.teardown(() => client.disconnect())
    return client
  })
}

async function calls(clients: Redis[], command: string): Promise<number> {
  let total = 0
  for (const client of clients) {
    const stats = await client.info('commandstats')
    total += Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
  }
  return total
}

t.test('getMany and deleteMany over keys in different slots', async (t) => {
  const s = await store(t)
  t.equal(s.cluster, true)
  const keys = ['alpha', 'bravo', 'charlie', 'delta', 'echo'].map((name) => `${name}-${randomUUID()}`)
  t.equal(clusterKeySlot.generateMulti(keys), -1, 'the keys span several slots')
  for (const [i, k] of keys.entries()) if (i % 2 === 0) await s.set(k, `v${i}`)
  t.same(await s.getMany(keys), ['v0', undefined, 'v2', undefined, 'v4'])
  t.same(await s.hasMany(keys), [true, false, true, false, true])
  t.equal(await s.deleteMany(keys), true)
  t.same(await s.getMany(keys), keys.map(() => undefined))
  t.equal(await s.deleteMany(keys), false)
})

t.test('keys sharing a hash tag are read with one MGET', async (t) => {
  const s = await store(t)
  const clients = masters(t)
  const tag = `{x${randomUUID().slice(0, 8)}}`
  const keys = [`${tag}:current`, `${tag}:previous`, `${tag}:missing`]
  await s.set(keys[0]!, 'now')
  await s.set(keys[1]!, Buffer.from([0xff, 1]))
  for (const client of clients) await client.config('RESETSTAT')
  t.same(await s.getMany(keys), ['now', Buffer.from([0xff, 1]), undefined])
  t.equal(await calls(clients, 'mget'), 1, 'one MGET')
  t.equal(await calls(clients, 'get'), 0, 'no single GETs')
})

t.test('deletePrefix, countPrefix and info() reach every master', async (t) => {
  const s = await store(t)
  const clients = masters(t)
  const prefix = `spread:${randomUUID().slice(0, 8)}:`
  const keys = Array.from({ length: 300 }, (_, i) => `${prefix}${i}`)
  for (const k of keys) await s.set(k, 'x')
  const other = `other:${randomUUID()}`
  await s.set(other, 'stays')
  const owned = await Promise.all(clients.map((client) => ownedBy(client, keys)))
  t.ok(owned.every((n) => n >= 50), `keys on all three masters: ${owned.join(', ')}`)
  const sizes = await Promise.all(clients.map((client) => client.dbsize()))
  t.match(await s.info(), { backend: 'redis', role: 'cluster', readOnly: false, keys: sum(sizes) }, 'info() sums DBSIZE')

  t.equal(await s.countPrefix(prefix), 300, 'countPrefix sums every master')
  t.equal(await s.deletePrefix(prefix), 300, 'deletePrefix reports every master')
  t.equal(await s.countPrefix(prefix), 0)
  const after = await Promise.all(clients.map((client) => client.dbsize()))
  t.same(
    after.map((size, i) => (sizes[i] ?? 0) - size),
    owned,
    'each master lost exactly its own keys under the prefix',
  )
  t.equal(await s.get(other), 'stays')
  t.equal((await s.info()).keys, sum(after))
})

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

/** How many of `keys` hash to slots this master serves. */
async function ownedBy(client: Redis, keys: string[]): Promise<number> {
  const myId = await client.cluster('MYID')
  const mine = (await client.cluster('SLOTS')).filter(([, , owner]) => owner?.[2] === myId)
  return keys.filter((k) => {
    const slot = clusterKeySlot(k)
    return mine.some(([from, to]) => slot >= from && slot <= to)
  }).length
}
