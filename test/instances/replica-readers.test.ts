/**
 * Writers on the primary, readers on a replica, the in-process tier (L1) on both (README, "Several
 * instances"): an invalidate() or clear() on the writer reaches the reader, whose subscription is on
 * the replica (Redis forwards PUBLISH down the replication link), and the reader drops both its L1
 * copy of a replicated answer and the answer it computed itself and keeps locally (a read-only
 * instance cannot write it to Redis).
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { eventually, harness, quietLogger, TestClock, type Harness } from '../cache/harness.js'
import { replicaPairFor } from '../support/redis.js'

t.test('an invalidation on a writer reaches a reader on the replica: its L1 and its local answers', async (t) => {
  const pair = await replicaPairFor(t)
  const namespace = `rr${randomUUID().slice(0, 6)}`
  const clock = new TestClock()
  const state = { version: 0 }
  const instance = async (url: string) => {
    const store = new RedisStore({ url, operationTimeout: 1_000, logger: quietLogger() })
    await store.ready()
    const h = await harness(t, {
      kind: 'memory',
      clock,
      cache: { store, namespace, l1: { maxBytes: 1 << 20 } },
      handler: (ctx) => void (ctx.body = { v: state.version, path: ctx.url }),
    })
    t.ok(await eventually(async () => (await h.cache.health()).l1?.channel === 'subscribed', 10_000), `subscribed on ${url}`)
    return h
  }
  const writer = await instance(pair.primary.url)
  const reader = await instance(pair.replica.url)
  t.ok(await eventually(async () => (await reader.cache.health()).readOnly === true), 'the reader knows it is on a replica')
  const version = async (h: Harness, path: string) => JSON.parse((await h.get(path)).text).v as number

  for (const how of ['invalidate', 'clear'] as const) {
    await writer.get('/data?from=primary')
    const replicated = async () => (await reader.get('/data?from=primary')).xcache === 'HIT' && (await version(reader, '/data?from=primary')) === state.version
    t.ok(await eventually(replicated), `the reader serves the writer's version ${state.version}, replicated`)
    t.equal(await version(reader, '/data?from=replica'), state.version, 'the reader computes one of its own')
    t.equal((await reader.get('/data?from=replica')).xcache, 'HIT', 'and keeps it, though it cannot write it')
    t.ok((await reader.cache.health()).l1!.entries >= 2, 'both answers in the reader\'s in-process tier')
    const heard = (await reader.cache.health()).l1!.messages_received

    state.version++
    await (how === 'clear' ? writer.cache.clear() : writer.cache.invalidate('data'))
    t.ok(await eventually(async () => (await reader.cache.health()).l1!.messages_received === heard + 1), `${how}() on the writer reaches the reader through the replica`)
    t.equal(await version(reader, '/data?from=primary'), state.version, `${how}(): the reader no longer serves the replicated answer`)
    t.equal(await version(reader, '/data?from=replica'), state.version, `${how}(): nor the answer it kept itself`)
  }
})
