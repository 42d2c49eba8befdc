import t from 'tap'
import { STORE_KINDS, harness, eventually, settled } from './harness.js'
import { cacheKey, keyPrefix } from '../../src/cache/keys.js'
import { engineOf } from '../../src/cache/engine.js'

for (const kind of STORE_KINDS) {
  t.test(`${kind}: invalidation and health`, async (t) => {
    t.test('invalidate(route) removes every bucket and variant of that route only', async (t) => {
      const h = await harness(t, { kind })
      await h.get('/data')
      await h.get('/data?v=1')
      h.clock.advance(30_000)
      await h.get('/data?v=2')
      t.ok(await settled(h.cache), 'the three entries were stored')
      const neighbours = ['data:x', 'data-x', 'dat', '*', 'data{1}'].map((name) =>
        cacheKey(keyPrefix(h.namespace, name, false), 1, ''),
      )
      for (const key of neighbours) await engineOf(h.cache).store.set(key, 'other route', 60_000)
      t.ok(await eventually(async () => ((await h.cache.health()).keys_count ?? 0) >= 8))
      const removed = await h.cache.invalidate('data')
      t.ok(removed >= 3, `removed ${removed}`)
      for (const key of neighbours) t.equal(await engineOf(h.cache).store.get(key), 'other route', `${key} survives`)
      t.equal((await h.get('/data?v=2')).xcache, 'MISS')
      t.equal((await h.get('/data')).xcache, 'MISS', 'no stale copy left either')
    })

    t.test('invalidateKey removes one key; clear() the namespace only', async (t) => {
      const h = await harness(t, { kind })
      const other = await harness(t, { kind })
      await h.get('/data')
      await h.get('/data?v=1')
      await other.get('/data')
      const key = cacheKey(keyPrefix(h.namespace, 'data', false), Math.floor(h.clock.ms / 30_000), '')
      // invalidateKey bars the route's writes still running: let every entry land first.
      t.ok((await settled(h.cache)) && (await settled(other.cache)), 'the entries were stored')
      t.ok((await engineOf(h.cache).store.get(key)) !== undefined)
      t.equal(await h.cache.invalidateKey(key), true)
      t.equal((await h.get('/data')).xcache, 'MISS')
      t.equal((await h.get('/data?v=1')).xcache, 'HIT', 'the other variant stayed')
      t.ok(await settled(h.cache), 'the recomputed entry was stored')
      t.ok((await h.cache.clear()) >= 2)
      t.equal((await h.get('/data?v=1')).xcache, 'MISS')
      t.equal((await other.get('/data')).xcache, 'HIT', 'another namespace on the same backend is untouched')
    })

    t.test('health() reports backend, state, keys, memory and counts', async (t) => {
      const h = await harness(t, { kind })
      await h.get('/data')
      t.ok(await settled(h.cache), 'the entry was stored')
      await h.get('/data')
      await h.get('/data', { cookie: 'x=1' })
      const health = await h.cache.health()
      t.equal(health.status, 'ok')
      t.equal(health.backend, kind)
      t.equal(health.degraded, false)
      t.equal(health.readOnly, false)
      t.equal(health.hits, 1)
      t.equal(health.misses, 1)
      t.equal(health.bypass, 1)
      t.equal(health.hit_rate, 0.5)
      t.ok(await eventually(async () => (await h.cache.health()).keys_count === 1), 'keys of the namespace counted')
      t.type(health.memory_usage?.used, 'number')
      t.ok((health.memory_usage?.used ?? 0) > 0)
      t.type(health.memory_usage?.policy, 'string')
      if (kind === 'redis') t.equal(health.role, 'master')
    })
  })
}
