import t from 'tap'
import { STORE_KINDS, harness, eventually, settled } from './harness.js'
import { Gate } from './gate.js'
import { engineOf } from '../../src/cache/engine.js'

for (const kind of STORE_KINDS) {
  t.test(`${kind}: misses, stale answers and errors`, async (t) => {
    t.test('single flight: 100 concurrent cold requests run the handler once and get one answer', async (t) => {
      const gate = new Gate()
      const h = await harness(t, { kind, handler: async (ctx, call) => {
        await gate.wait()
        ctx.body = { call }
      } })
      const pending = Promise.all(Array.from({ length: 100 }, () => h.get('/data')))
      // The handler answers only once every request is in: all 100 overlap whatever the machine's load.
      t.ok(await eventually(() => h.arrived() === 100, 20_000), 'all 100 requests reached the server')
      gate.open()
      const replies = await pending
      t.equal(h.calls(), 1)
      t.equal(gate.reached, 1, 'one computation waited at the gate')
      t.equal(new Set(replies.map((r) => r.text)).size, 1, 'every request got the same body')
      t.ok(replies.every((r) => r.status === 200))
    })

    t.test('rollover with stale: 0 is the seed behaviour: the first request of a bucket waits', async (t) => {
      const h = await harness(t, { kind, route: { stale: 0 } })
      await h.get('/data')
      t.ok(await settled(h.cache), 'the answer was stored') // so the MISS is stale: 0's doing
      h.clock.advance(30_000)
      const next = await h.get('/data')
      t.equal(next.xcache, 'MISS')
      t.equal(JSON.parse(next.text).call, 2)
    })

    t.test('stale-while-revalidate: the previous bucket answers at once and one refresh runs', async (t) => {
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => (release = resolve))
      const h = await harness(t, { kind, handler: async (ctx, call) => {
        if (call > 1) await gate
        ctx.body = { call }
      } })
      const first = await h.get('/data')
      t.ok(await settled(h.cache), 'the first answer was stored') // or the next bucket finds nothing stale
      h.clock.advance(30_000)
      const stale = await Promise.all(Array.from({ length: 20 }, () => h.get('/data')))
      t.ok(stale.every((r) => r.xcache === 'STALE'), 'all STALE while the refresh runs')
      t.ok(stale.every((r) => r.text === first.text), 'the stale body is the previous answer')
      t.equal(stale[0]!.headers.get('cache-control'), 'public, max-age=29, stale-while-revalidate=30', 'the whole lifetime of the previous entry')
      t.equal(stale[0]!.headers.get('age'), '30', 'past its max-age: stale downstream too')
      t.ok(await eventually(() => h.calls() === 2), 'a refresh started')
      release()
      // Polling with requests could race the refresh's write into a second refresh: wait for the write.
      t.ok(await settled(h.cache), 'the refresh was stored')
      t.equal((await h.get('/data')).xcache, 'HIT')
      t.equal(h.calls(), 2, 'exactly one background refresh for 20 stale answers')
      t.equal(JSON.parse((await h.get('/data')).text).call, 2)
    })

    t.test('stale is served for `stale` seconds only', async (t) => {
      const h = await harness(t, { kind, route: { stale: 5 } })
      await h.get('/data')
      t.ok(await settled(h.cache), 'the answer was stored') // so the MISS is the stale window's doing
      h.clock.advance(29_000 + 6_000) // 6 s into the next bucket
      t.equal((await h.get('/data')).xcache, 'MISS')
    })

    t.test('stale-if-error: a failing refresh keeps the stale answer, and retries after errorTtl', async (t) => {
      let fail = false
      // errorTtl is judged by the cache's clock; the store's real-time TTL (the same 10 s) outlives the test.
      const h = await harness(t, { kind, route: { errorTtl: 10 }, handler: (ctx, call) => {
        if (fail) throw new Error('backend down')
        ctx.body = { call }
      } })
      const good = await h.get('/data')
      t.ok(await settled(h.cache), 'the good answer was stored')
      fail = true
      h.clock.advance(30_000)
      t.equal((await h.get('/data')).xcache, 'STALE')
      t.ok(await eventually(() => h.calls() === 2), 'the refresh ran and failed')
      t.ok(await settled(h.cache), 'the error entry was stored')
      for (let i = 0; i < 5; i++) {
        const reply = await h.get('/data')
        t.equal(reply.xcache, 'STALE')
        t.equal(reply.text, good.text)
      }
      t.equal(h.calls(), 2, 'no refresh storm while the error is remembered')
      fail = false
      h.clock.advance(10_000) // past errorTtl, still within the stale window
      t.equal((await h.get('/data')).xcache, 'STALE', 'the stale answer while the retry runs')
      t.ok(await eventually(() => h.calls() === 3) && (await settled(h.cache)), 'a refresh retried after errorTtl')
      t.equal((await h.get('/data')).xcache, 'HIT', 'recovers after errorTtl')
      t.equal(h.calls(), 3)
    })

    t.test('a 5xx answer with nothing stale is cached for errorTtl with no-store, 4xx is not cached', async (t) => {
      const h = await harness(t, { kind, route: { errorTtl: 10 }, handler: (ctx, call) => {
        ctx.status = ctx.query.code ? Number(ctx.query.code) : 503
        ctx.body = { error: 'unavailable', call }
      } })
      const first = await h.get('/data')
      t.equal(first.status, 503)
      t.equal(first.xcache, 'MISS')
      t.equal(first.headers.get('cache-control'), 'no-store')
      t.ok(await settled(h.cache), 'the error entry was stored')
      const second = await h.get('/data')
      t.equal(second.status, 503)
      t.equal(second.xcache, 'HIT')
      t.equal(h.calls(), 1)
      h.clock.advance(10_000)
      t.equal(JSON.parse((await h.get('/data')).text).call, 2, 'computed again after errorTtl')

      const notFound1 = await h.get('/data?code=404')
      const notFound2 = await h.get('/data?code=404')
      t.equal(notFound1.status, 404)
      t.not(JSON.parse(notFound2.text).call, JSON.parse(notFound1.text).call, '404 is computed each time')
    })

    t.test('a thrown 5xx becomes a cached error answer as Koa would write it; a route may cache 404', async (t) => {
      const h = await harness(t, { kind, route: { statuses: [200, 404] }, handler: (ctx) => {
        if (ctx.query.missing) {
          ctx.status = 404
          ctx.body = { error: 'no such thing' }
          return
        }
        throw new Error('secret detail')
      } })
      const thrown = await h.get('/data')
      t.equal(thrown.status, 500)
      t.equal(thrown.text, 'Internal Server Error', 'no internal message leaks')
      t.equal(thrown.headers.get('content-type'), 'text/plain; charset=utf-8')
      t.ok(await settled(h.cache), 'the error entry was stored')
      t.equal((await h.get('/data')).xcache, 'HIT')
      t.equal(h.calls(), 1)
      await h.get('/data?missing=1')
      t.ok(await settled(h.cache), 'the 404 was stored')
      const again = await h.get('/data?missing=1')
      t.equal(again.status, 404)
      t.equal(again.xcache, 'HIT', '404 cached when the route lists it')
    })

    t.test('warm: the next bucket is computed before rollover, so nobody waits or gets stale', async (t) => {
      const h = await harness(t, { kind, route: { warm: true } })
      await h.get('/data') // 1 s into the bucket: computes bucket N
      t.equal(h.calls(), 1)
      t.ok(await settled(h.cache), 'bucket N was stored')
      await h.get('/data')
      t.equal(h.calls(), 1, 'far from rollover: no warming yet')
      h.clock.advance(28_500) // 0.5 s before rollover
      t.equal((await h.get('/data')).xcache, 'HIT')
      t.ok(await eventually(() => h.calls() === 2), 'the next bucket was computed ahead')
      t.ok(await settled(h.cache), 'and stored')
      h.clock.advance(1_000) // into bucket N+1
      const next = await h.get('/data')
      t.equal(next.xcache, 'HIT', 'the first request of the new bucket is a HIT')
      t.equal(JSON.parse(next.text).call, 2)
      t.equal(h.calls(), 2)
    })

    t.test('warm is demand-driven: keys not requested in this window are not warmed', async (t) => {
      const h = await harness(t, { kind, route: { warm: true } })
      await h.get('/data?a=1')
      t.ok(await settled(h.cache), 'a=1 was stored')
      h.clock.advance(28_500)
      await h.get('/data?a=2') // a new key, computed now; a=1 is idle
      // A warm-up starts as its response finishes, before the reply is read: it would be in flight now.
      t.ok(await settled(h.cache), 'the a=2 computation settled')
      t.equal(h.calls(), 2, 'nothing computed for the idle key')
    })

    t.test('the store write never delays the response', async (t) => {
      const h = await harness(t, { kind })
      const original = engineOf(h.cache).store.set.bind(engineOf(h.cache).store)
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => (release = resolve))
      engineOf(h.cache).store.set = async (key, value, ttl) => {
        await gate
        return original(key, value, ttl)
      }
      const reply = await h.get('/data')
      t.equal(reply.status, 200, 'answered while the write is still held')
      release()
    })
  })
}
