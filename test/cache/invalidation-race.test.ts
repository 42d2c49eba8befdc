/**
 * Issue 21: an invalidation made while a computation runs must win over it.
 * The computation may answer the requests that waited for it, but its answer
 * must not become the cached one: the next request computes again.
 */
import t from 'tap'
import { STORE_KINDS, harness, eventually, settled, type Harness } from './harness.js'
import { Gate } from './gate.js'
import { bucketOf, cacheKey, keyPrefix } from '../../src/cache/keys.js'

type Invalidation = 'invalidate' | 'invalidateKey' | 'clear'

/** A handler that reads the data's version when it starts, and waits at `gate` on call `held`. */
function versioned(held: number) {
  const state = { version: 1, gate: new Gate() }
  const handler = async (ctx: { body: unknown }, call: number) => {
    const v = state.version
    if (call === held) await state.gate.wait()
    ctx.body = { v, call }
  }
  return { state, handler }
}

function invalidation(h: Harness, how: Invalidation, bucket = bucketOf(h.clock.ms, 30)): Promise<unknown> {
  if (how === 'invalidate') return h.cache.invalidate('data')
  if (how === 'clear') return h.cache.clear()
  return h.cache.invalidateKey(cacheKey(keyPrefix(h.namespace, 'data', false), bucket, ''))
}

for (const kind of STORE_KINDS) {
  for (const how of ['invalidate', 'invalidateKey', 'clear'] as const) {
    t.test(`${kind}: ${how}() during a slow computation wins over it`, async (t) => {
      const { state, handler } = versioned(1)
      const h = await harness(t, { kind, handler })
      const first = h.get('/data')
      t.ok(await eventually(() => state.gate.reached === 1), 'the computation started with version 1')
      state.version = 2
      await invalidation(h, how)
      state.gate.open()
      t.same(JSON.parse((await first).text), { v: 1, call: 1 }, 'the request that started it gets its answer')
      t.ok(await settled(h.cache), 'its store write settled')
      const next = await h.get('/data')
      t.equal(next.xcache, 'MISS', 'the next request computes again')
      t.same(JSON.parse(next.text), { v: 2, call: 2 })
      t.ok(await settled(h.cache), 'the new answer was stored')
      t.equal((await h.get('/data')).xcache, 'HIT', 'and the new answer is cached')
    })
  }

  t.test(`${kind}: a request after the invalidation does not join the computation it invalidated`, async (t) => {
    const { state, handler } = versioned(1)
    const h = await harness(t, { kind, handler })
    const first = h.get('/data')
    t.ok(await eventually(() => state.gate.reached === 1))
    state.version = 2
    await h.cache.invalidate('data')
    const second = h.get('/data')
    t.ok(await eventually(() => h.calls() === 2), 'a new computation starts while the old one still runs')
    state.gate.open()
    t.same(JSON.parse((await second).text), { v: 2, call: 2 })
    await first
    t.ok(await settled(h.cache))
    const next = await h.get('/data')
    t.equal(next.xcache, 'HIT')
    t.same(JSON.parse(next.text), { v: 2, call: 2 }, 'the late old answer did not overwrite the new one')
  })

  t.test(`${kind}: a background refresh that started before the invalidation is not stored`, async (t) => {
    const { state, handler } = versioned(2)
    const h = await harness(t, { kind, handler })
    await h.get('/data')
    // One request only: a MISS while polling would be the computation held at the gate.
    t.ok(await settled(h.cache), 'the first answer was stored')
    t.equal((await h.get('/data')).xcache, 'HIT')
    h.clock.advance(30_000)
    t.equal((await h.get('/data')).xcache, 'STALE', 'stale answer, refresh in the background')
    t.ok(await eventually(() => state.gate.reached === 1), 'the refresh started with version 1')
    state.version = 2
    await h.cache.invalidate('data')
    state.gate.open()
    t.ok(await settled(h.cache), 'the refresh ended')
    const next = await h.get('/data')
    t.equal(next.xcache, 'MISS', 'the refreshed answer was not stored')
    t.same(JSON.parse(next.text), { v: 2, call: 3 })
  })

  t.test(`${kind}: a warm-up that started before the invalidation is not stored`, async (t) => {
    const { state, handler } = versioned(2)
    const h = await harness(t, { kind, handler, route: { warm: true } })
    h.clock.advance(28_500) // 500 ms before the bucket ends: within the warm-up lead
    await h.get('/data')
    // One request only: a MISS while polling would be the computation held at the gate.
    t.ok(await settled(h.cache), 'the first answer was stored')
    t.equal((await h.get('/data')).xcache, 'HIT')
    t.ok(await eventually(() => state.gate.reached === 1), 'the warm-up of the next bucket started with version 1')
    state.version = 2
    await h.cache.invalidate('data')
    state.gate.open()
    t.ok(await settled(h.cache), 'the warm-up ended')
    h.clock.advance(1000)
    const next = await h.get('/data')
    t.equal(next.xcache, 'MISS', 'the warmed answer was not stored')
    t.same(JSON.parse(next.text), { v: 2, call: 3 })
  })
}
