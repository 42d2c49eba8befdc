/**
 * Issue 10: every freshness decision follows the cache's clock (the `clock`
 * option), never only a store's TTL in real time. Store TTLs only free memory.
 */
import t from 'tap'
import type { KeyvStoreAdapter } from 'keyv'
import { STORE_KINDS, harness, eventually, settled } from './harness.js'
import { PlainStore } from './plain-store.js'

const failing = (failOn: (call: number) => boolean) => (ctx: { body: unknown; throw: (status: number) => never }, call: number) => {
  if (failOn(call)) ctx.throw(500)
  ctx.body = { call }
}

const kinds = [...STORE_KINDS, 'keyv store ignoring TTLs'] as const
const storeFor = (kind: (typeof kinds)[number]) =>
  kind === 'keyv store ignoring TTLs' ? { kind: 'memory' as const, cache: { store: new PlainStore() as unknown as KeyvStoreAdapter } } : { kind }

for (const kind of kinds) {
  t.test(`${kind}: an error entry expires after errorTtl by the cache's clock`, async (t) => {
    const h = await harness(t, { ...storeFor(kind), route: { errorTtl: 10, stale: 0 }, handler: failing((call) => call === 1) })
    t.equal((await h.get('/data')).status, 500)
    t.ok(await settled(h.cache), 'the error entry was stored')
    t.equal((await h.get('/data')).xcache, 'HIT', 'the error is cached')
    t.equal(h.calls(), 1)
    h.clock.advance(9_000)
    t.equal((await h.get('/data')).status, 500, 'still within errorTtl')
    h.clock.advance(2_000)
    const next = await h.get('/data')
    t.equal(next.status, 200, 'past errorTtl the handler runs again')
    t.equal(next.xcache, 'MISS')
    t.equal(h.calls(), 2)
  })

  t.test(`${kind}: after a failed refresh, the stale answer is refreshed again once errorTtl has passed`, async (t) => {
    const h = await harness(t, { ...storeFor(kind), route: { errorTtl: 10, stale: 30 }, handler: failing((call) => call === 2) })
    await h.get('/data')
    t.ok(await settled(h.cache), 'the entry was stored')
    t.equal((await h.get('/data')).xcache, 'HIT')
    h.clock.advance(30_000)
    t.equal((await h.get('/data')).xcache, 'STALE')
    t.ok(await eventually(() => h.calls() === 2) && (await settled(h.cache)), 'the refresh failed')
    const during = await h.get('/data')
    t.equal(during.xcache, 'STALE', 'stale-if-error within errorTtl')
    t.equal(h.calls(), 2, 'no new refresh while the error entry is fresh')
    h.clock.advance(11_000)
    t.equal((await h.get('/data')).xcache, 'STALE')
    t.ok(await eventually(() => h.calls() === 3) && (await settled(h.cache)), 'past errorTtl a refresh runs again')
    t.equal((await h.get('/data')).xcache, 'HIT', 'and its answer is served')
  })

  t.test(`${kind}: a previous bucket is served stale only within the stale window`, async (t) => {
    const h = await harness(t, { ...storeFor(kind), route: { stale: 5 } })
    await h.get('/data')
    t.ok(await settled(h.cache), 'the entry was stored')
    t.equal((await h.get('/data')).xcache, 'HIT')
    h.clock.advance(29_000 + 6_000) // the next bucket, 6 s in: past the 5 s stale window
    t.equal((await h.get('/data')).xcache, 'MISS')
  })
}
