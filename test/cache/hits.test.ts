import t from 'tap'
import { STORE_KINDS, harness, settled } from './harness.js'
import { bucketOf } from '../../src/cache/keys.js'
import { decodeEntry } from '../../src/cache/entry.js'
import { engineOf } from '../../src/cache/engine.js'

for (const kind of STORE_KINDS) {
  t.test(`${kind}: keys and the hit path`, async (t) => {
    t.test('first request computes, second is a HIT with the same bytes, under the seed key', async (t) => {
      const h = await harness(t, { kind })
      const first = await h.get('/data')
      t.equal(first.xcache, 'MISS')
      t.equal(h.calls(), 1)
      t.ok(await settled(h.cache), 'the entry was stored') // writes never delay replies: wait for it
      const second = await h.get('/data')
      t.equal(second.xcache, 'HIT')
      t.equal(h.calls(), 1, 'the handler did not run again')
      t.same(second.bytes, first.bytes)
      t.equal(second.headers.get('content-type'), 'application/json; charset=utf-8')
      const key = `${h.namespace}:data:${bucketOf(h.clock.ms, 30)}`
      t.equal(key, `${h.namespace}:data:${Math.floor(h.clock.ms / 1000 / 30)}`)
      const entry = decodeEntry(await engineOf(h.cache).store.get(key))
      t.equal(entry?.status, 200)
      t.same(entry?.body, first.bytes, 'the stored body is the bytes sent')
    })

    t.test('headers: Age, Cache-Control max-age is the entry lifetime, strong ETag and 304', async (t) => {
      const h = await harness(t, { kind })
      const first = await h.get('/data')
      t.equal(first.headers.get('cache-control'), 'public, max-age=29, stale-while-revalidate=30', '1 s into a 30 s bucket')
      t.equal(first.headers.get('age'), '0')
      const etag = first.headers.get('etag')
      t.match(etag, /^"[A-Za-z0-9_-]{27}"$/, 'strong ETag')
      t.ok(await settled(h.cache), 'the entry was stored')
      h.clock.advance(12_000)
      const later = await h.get('/data')
      t.equal(later.headers.get('age'), '12')
      t.equal(later.headers.get('cache-control'), 'public, max-age=29, stale-while-revalidate=30', 'max-age minus Age: 17 s left')
      const notModified = await h.get('/data', { 'if-none-match': etag! })
      t.equal(notModified.status, 304)
      t.equal(notModified.bytes.length, 0)
      t.equal(notModified.headers.get('etag'), etag)
      const other = await h.get('/data', { 'if-none-match': '"something-else"' })
      t.equal(other.status, 200)
      t.equal(h.calls(), 1)
    })

    t.test('GET and HEAD share one entry', async (t) => {
      const h = await harness(t, { kind })
      const head = await h.get('/data', {}, 'HEAD')
      t.equal(head.status, 200)
      t.equal(head.xcache, 'MISS')
      t.ok(await settled(h.cache), 'the entry was stored')
      const get = await h.get('/data')
      t.equal(get.xcache, 'HIT')
      t.equal(JSON.parse(get.text).call, 1)
      const head2 = await h.get('/data', {}, 'HEAD')
      t.equal(head2.xcache, 'HIT')
      t.equal(head2.bytes.length, 0, 'HEAD has no body')
      t.equal(head2.headers.get('content-length'), String(get.bytes.length))
      t.equal(h.calls(), 1)
    })

    t.test('query: sorted, allow-listed, or ignored', async (t) => {
      const all = await harness(t, { kind })
      await all.get('/data?b=2&a=1')
      t.ok(await settled(all.cache), 'the entry was stored')
      t.equal((await all.get('/data?a=1&b=2')).xcache, 'HIT', 'parameter order does not matter')
      t.equal((await all.get('/data?a=1&b=3')).xcache, 'MISS', 'another value is another entry')
      t.equal((await all.get('/data')).xcache, 'MISS', 'no query is another entry')

      const allow = await harness(t, { kind, route: { query: ['a'] } })
      await allow.get('/data?a=1&_=123')
      t.ok(await settled(allow.cache), 'the entry was stored')
      t.equal((await allow.get('/data?a=1&_=456')).xcache, 'HIT', 'a cache-buster outside the allow-list is ignored')
      t.equal((await allow.get('/data?a=2&_=456')).xcache, 'MISS')

      const none = await harness(t, { kind, route: { query: false } })
      await none.get('/data?x=1')
      t.ok(await settled(none.cache), 'the entry was stored')
      t.equal((await none.get('/data?y=2')).xcache, 'HIT')
      t.equal(none.calls(), 1)
    })

    t.test('vary: named request headers select a variant', async (t) => {
      const h = await harness(t, { kind, route: { vary: ['accept-language'] }, handler: (ctx, call) => {
        ctx.body = { call, lang: ctx.get('accept-language') }
      } })
      const en = await h.get('/data', { 'accept-language': 'en' })
      const fr = await h.get('/data', { 'accept-language': 'fr' })
      t.equal(fr.xcache, 'MISS')
      t.equal(JSON.parse(fr.text).lang, 'fr')
      t.ok(await settled(h.cache), 'both variants were stored')
      const en2 = await h.get('/data', { 'accept-language': 'en' })
      t.equal(en2.xcache, 'HIT')
      t.same(en2.bytes, en.bytes)
    })

    t.test('nothing from the request outside the key changes a cached answer', async (t) => {
      const h = await harness(t, { kind, handler: (ctx, call) => {
        ctx.body = { call, echo: ctx.get('x-anything') }
      } })
      const first = await h.get('/data', { 'x-anything': 'one' })
      t.ok(await settled(h.cache), 'the entry was stored')
      const second = await h.get('/data', { 'x-anything': 'two' })
      t.equal(second.xcache, 'HIT')
      t.same(second.bytes, first.bytes)
    })

    t.test('a value that does not decode is a miss, overwritten on fill, never a 500', async (t) => {
      const h = await harness(t, { kind })
      const key = `${h.namespace}:data:${bucketOf(h.clock.ms, 30)}`
      for (const garbage of ['not an entry', Buffer.from('KBC\u0001truncated'), '{"status":200}']) {
        await engineOf(h.cache).store.set(key, garbage, 60_000)
        const reply = await h.get('/data')
        t.equal(reply.status, 200)
        t.equal(reply.xcache, 'MISS')
        // Settled, not polled: the next garbage must not meet this flight still holding the key.
        t.ok(await settled(h.cache), 'the computation ended')
        t.ok(decodeEntry(await engineOf(h.cache).store.get(key)) !== undefined, 'overwritten with a good entry')
        t.equal((await h.get('/data')).xcache, 'HIT')
      }
    })

    t.test('a binary body comes back byte for byte', async (t) => {
      const body = Buffer.alloc(256 * 1024)
      for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff
      const h = await harness(t, { kind, handler: (ctx) => {
        ctx.type = 'application/octet-stream'
        ctx.body = body
      } })
      await h.get('/data')
      t.ok(await settled(h.cache), 'the entry was stored')
      const hit = await h.get('/data')
      t.equal(hit.xcache, 'HIT')
      t.ok(hit.bytes.equals(body))
    })
  })
}
