import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { RedisStore, type RedisStoreOptions } from '../../adapters/redis.js'
import type { Logger } from '../../adapters/contract.js'
import { waitUntil } from '../support/probe.js'
import { canStartTopologies, replicaPairFor, type RedisServer } from '../support/redis.js'

if (!(await canStartTopologies())) t.plan(0, 'replica pairs need redis-server or a Docker engine')

const SKIPPED = 'Redis set skipped (read-only)'

/** A logger that keeps every warning's message. */
function recorder(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  return { warnings, warn: (obj, msg) => void warnings.push(msg ?? String(obj)) }
}

/** A store closed at the end of the test, with a roomy operation timeout: roles are the point here. */
function store(t: Test, options: RedisStoreOptions): RedisStore {
  const made = new RedisStore({ operationTimeout: 1_000, ...options })
  t.teardown(() => made.disconnect())
  return made
}

function raw(t: Test, server: RedisServer): Redis {
  const client = new Redis(server.url, { maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  return client
}

async function role(client: Redis): Promise<string> {
  return /role:(\w+)/.exec(await client.info('replication'))?.[1] ?? 'unknown'
}

/** REPLICAOF NO ONE on the replica, once it has every write of the primary (WAIT). */
async function promote(replica: Redis, primary: Redis): Promise<void> {
  await primary.call('WAIT', '1', '2000')
  await replica.call('REPLICAOF', 'NO', 'ONE')
}

/** Makes the server behind `client` a replica of `of`; returns once the link is up (full sync done). */
async function demote(client: Redis, of: RedisServer): Promise<void> {
  await client.call('REPLICAOF', of.host, String(of.port))
  await waitUntil('the demoted server to sync', async () => (await client.info('replication')).includes('master_link_status:up'))
}

const key = (label: string): string => `replica-test:${label}:${randomUUID()}`

t.test('read-only group on a replica: role detected at connect, writes skipped, one warning, reads work', async (t) => {
  const { primary, replica } = await replicaPairFor(t)
  const log = recorder()
  const s = store(t, { url: replica.url, logger: log })
  t.equal(await s.ready(), true)
  t.equal(s.role, 'replica', 'role known once ready()')
  t.equal(s.readOnly, true)
  t.match(await s.info(), { role: 'replica', readOnly: true })

  const k = key('from-primary')
  await raw(t, primary).set(k, 'written on the primary')
  await waitUntil('the replica to receive the key', async () => (await s.get(k)) !== undefined, { timeoutMs: 5_000 })
  t.equal(await s.get(k), 'written on the primary', 'reads of primary keys work')
  t.same(await s.getMany([k, key('missing')]), ['written on the primary', undefined])
  t.equal(await s.has(k), true)

  const mine = key('skipped')
  for (let i = 0; i < 50; i++) t.equal(await s.set(mine, `v${i}`), false, `set ${i} returns false`)
  await s.setMany([{ key: mine, value: 'many' }])
  t.equal(await raw(t, replica).exists(mine), 0, 'nothing written on the replica')
  t.equal(await raw(t, primary).exists(mine), 0, 'nor on the primary')
  t.equal(await s.delete(k), false, 'delete skipped')
  t.equal(await s.deletePrefix('replica-test:'), 0, 'deletePrefix skipped')
  t.equal(await s.get(k), 'written on the primary', 'the key is still there')
  t.same(log.warnings, [SKIPPED], 'exactly one warning for 51 skipped writes')
})

t.test('readOnly: true (REDIS_READONLY=true) on a primary skips writes too', async (t) => {
  const { primary } = await replicaPairFor(t)
  const client = raw(t, primary)
  const k = key('forced')
  await client.set(k, 'existing')
  const byOption = recorder()
  const byEnv = recorder()
  for (const [s, log] of [
    [new RedisStore({ url: primary.url, readOnly: true, logger: byOption }), byOption],
    [RedisStore.fromEnv({ REDIS_URL: primary.url, REDIS_READONLY: 'true' }, { logger: byEnv }), byEnv],
  ] as const) {
    t.teardown(() => s.disconnect())
    await s.ready()
    t.equal(s.role, 'master')
    t.equal(s.readOnly, true)
    for (let i = 0; i < 10; i++) t.equal(await s.set(k, 'overwritten'), false)
    t.equal(await s.get(k), 'existing', 'reads work, nothing overwritten')
    t.same(log.warnings, [SKIPPED], 'one warning for ten skipped writes')
  }
  t.equal(await client.get(k), 'existing')
})

t.test('promotion: REPLICAOF NO ONE mid-test, writes resume within the recheck interval', async (t) => {
  const { replica } = await replicaPairFor(t)
  const log = recorder()
  const s = store(t, { url: replica.url, logger: log, roleCheckInterval: 200 })
  await s.ready()
  const k = key('promoted')
  t.equal(await s.set(k, 'before'), false, 'read-only before the promotion')

  await raw(t, replica).call('REPLICAOF', 'NO', 'ONE')
  const promoted = Date.now()
  await waitUntil('writes to resume', async () => await s.set(k, 'after'), { timeoutMs: 3_000, intervalMs: 20 })
  const took = Date.now() - promoted
  t.ok(took < 1_000, `writes resumed after ${took} ms (recheck every 200 ms)`)
  t.equal(s.readOnly, false)
  t.equal(s.role, 'master')
  t.equal(await raw(t, replica).get(k), 'after', 'written on the promoted server')
  t.same(log.warnings, [SKIPPED], 'no further warning')
})

t.test('demotion: a primary made a replica stops writing, with exactly one new warning', async (t) => {
  const { primary, replica } = await replicaPairFor(t)
  const log = recorder()
  const s = store(t, { url: primary.url, logger: log, roleCheckInterval: 200 })
  await s.ready()
  const k = key('demoted')
  t.equal(await s.set(k, 'as primary'), true)
  t.same(log.warnings, [])

  const client = raw(t, primary)
  await promote(raw(t, replica), client)
  await demote(client, replica)
  await waitUntil('writes to stop', async () => (await s.set(k, 'as replica')) === false, { timeoutMs: 3_000 })
  t.equal(s.readOnly, true)
  t.equal(s.role, 'replica')
  for (let i = 0; i < 20; i++) await s.set(k, `again ${i}`)
  t.same(log.warnings, [SKIPPED], 'exactly one new warning')
  t.equal(await raw(t, replica).get(k), 'as primary', 'the new primary has only what was written before')
})

t.test('READONLY error with no periodic check: set returns false and warns once; deletes skip too', async (t) => {
  const { primary, replica } = await replicaPairFor(t)
  const log = recorder()
  const [s, deleter, prefixDeleter] = [log, recorder(), recorder()].map((logger) =>
    store(t, { url: primary.url, logger, roleCheckInterval: 0 }),
  ) as [RedisStore, RedisStore, RedisStore]
  for (const each of [s, deleter, prefixDeleter]) await each.ready()
  const k = key('readonly-error')
  t.equal(await s.set(k, 'as primary'), true)

  const client = raw(t, primary)
  await promote(raw(t, replica), client)
  await demote(client, replica)
  t.equal(await role(client), 'slave', 'the primary is a replica now')
  t.equal(s.readOnly, false, 'the store has not noticed yet')

  t.equal(await s.set(k, 'refused'), false, 'the READONLY reply turns into false')
  t.equal(s.readOnly, true, 'and the store is read-only from then on')
  for (let i = 0; i < 20; i++) t.equal(await s.set(k, 'refused'), false)
  t.same(log.warnings, [SKIPPED], 'one warning')
  t.equal(await s.get(k), 'as primary', 'reads still work')

  t.equal(await deleter.delete(k), false, 'a delete answered READONLY is skipped, not thrown')
  t.equal(deleter.readOnly, true)
  t.equal(await prefixDeleter.deletePrefix('replica-test:'), 0, 'so is a prefix delete')
  t.equal(prefixDeleter.readOnly, true)
  t.equal(await client.get(k), 'as primary', 'nothing deleted')
})

t.test('on a replica, locks, generation counters and guarded writes are skipped, not thrown', async (t) => {
  const { primary, replica } = await replicaPairFor(t)
  const log = recorder()
  const s = store(t, { url: replica.url, logger: log })
  t.equal(await s.ready(), true)
  t.equal(s.readOnly, true)
  const client = raw(t, primary)
  const [lock, generation, entry, other] = [key('lock'), key('gen'), key('entry'), key('other')]
  await client.set(lock, 'held-elsewhere')
  await client.set(other, 'x')
  await client.call('WAIT', '1', '2000')
  t.equal(await s.acquireLock(key('mine'), 1_000), undefined, 'acquireLock: undefined (no lock to take here)')
  await s.releaseLock(lock, 'held-elsewhere')
  t.equal(await client.get(lock), 'held-elsewhere', 'releaseLock does nothing')
  await s.bumpGenerations([generation], 5_000)
  t.equal(await client.exists(generation), 0, 'bumpGenerations does nothing')
  t.equal(await s.setIfGenerations(entry, 'v', 5_000, [generation], ['']), false, 'setIfGenerations: false')
  t.equal(await s.deleteMany([other]), false, 'deleteMany: false')
  t.equal(await s.deleteMany([]), false, 'deleteMany of nothing: false')
  t.equal(await client.get(other), 'x', 'nothing deleted')
  t.same(await s.readGenerations([generation]), [''], 'a missing counter reads as empty')
  t.same(log.warnings, [SKIPPED], 'one warning for the skipped guarded write')
})

t.test('READONLY replies to deleteMany, setIfGenerations and acquireLock: skipped, and only writes demote the store', async (t) => {
  const { primary, replica } = await replicaPairFor(t)
  const [many, guarded, locker] = [0, 1, 2].map(() => store(t, { url: primary.url, logger: recorder(), roleCheckInterval: 0 })) as [RedisStore, RedisStore, RedisStore]
  for (const each of [many, guarded, locker]) t.equal(await each.ready(), true)
  const client = raw(t, primary)
  const k = key('kept')
  await client.set(k, 'v')
  await promote(raw(t, replica), client)
  await demote(client, replica)
  t.equal(many.readOnly || guarded.readOnly || locker.readOnly, false, 'no store has noticed yet')

  t.equal(await many.deleteMany([k, key('missing')]), false, 'deleteMany answered READONLY: false')
  t.equal(many.readOnly, true, 'and the store is read-only from then on')
  t.equal(await guarded.setIfGenerations(key('entry'), 'v', 1_000, [key('gen')], ['']), false, 'setIfGenerations answered READONLY: false')
  t.equal(guarded.readOnly, true)
  t.equal(await locker.acquireLock(key('lock'), 1_000), undefined, 'acquireLock answered READONLY: undefined, not thrown')
  t.equal(await client.get(k), 'v', 'nothing deleted')
})
