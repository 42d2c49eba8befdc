import { Readable } from 'node:stream'
import t from 'tap'
import { STORE_KINDS, harness, settled } from './harness.js'
import { createResponseCache } from '../../src/index.js'
import { bucketOf } from '../../src/cache/keys.js'
import { decodeEntry } from '../../src/cache/entry.js'
import { rawEncode } from './raw-entry.js'
import { engineOf } from '../../src/cache/engine.js'

for (const kind of STORE_KINDS) {
  t.test(`${kind}: what a shared cache must never store or serve`, async (t) => {
    t.test('requests with Authorization or Cookie bypass the cache', async (t) => {
      const h = await harness(t, { kind })
      await h.get('/data')
      t.ok(await settled(h.cache), 'the anonymous entry was stored')
      for (const headers of [{ authorization: 'Bearer alice' }, { cookie: 'session=bob' }] as Array<Record<string, string>>) {
        const reply = await h.get('/data', headers)
        t.equal(reply.xcache, 'BYPASS')
        t.equal(reply.headers.get('cache-control'), null, 'no public caching headers on a bypass')
      }
      t.equal(h.calls(), 3, 'each credentialed request ran the handler')
      t.equal((await h.get('/data')).xcache, 'HIT', 'the anonymous entry was not touched')
    })

    t.test('shared: true caches credentialed requests per named header', async (t) => {
      const h = await harness(t, { kind, route: { shared: true, vary: ['authorization'] }, handler: (ctx, call) => {
        ctx.body = { call, user: ctx.get('authorization') }
      } })
      const alice = await h.get('/data', { authorization: 'alice' })
      await h.get('/data', { authorization: 'bob' })
      t.ok(await settled(h.cache), 'both entries were stored')
      const alice2 = await h.get('/data', { authorization: 'alice' })
      t.equal(alice2.xcache, 'HIT')
      t.same(alice2.bytes, alice.bytes)
      t.equal(JSON.parse((await h.get('/data', { authorization: 'bob' })).text).user, 'bob', 'bob never gets alice')
    })

    const unstorable: Array<[string, (ctx: import('koa').Context) => void]> = [
      ['Set-Cookie', (ctx) => ctx.cookies.set('id', 'secret')],
      ['Cache-Control: private', (ctx) => ctx.set('Cache-Control', 'private, max-age=60')],
      ['Cache-Control: no-store', (ctx) => ctx.set('Cache-Control', 'no-store')],
      ['status 201', (ctx) => (ctx.status = 201)],
      ['status 302', (ctx) => ctx.redirect('/elsewhere')],
    ]
    for (const [label, mark] of unstorable) {
      t.test(`never stores a response with ${label}`, async (t) => {
        const h = await harness(t, { kind, handler: (ctx, call) => {
          ctx.body = { call }
          mark(ctx)
        } })
        const first = await h.get('/data')
        t.equal(first.xcache, 'MISS')
        const second = await h.get('/data')
        t.equal(second.xcache, 'MISS', 'not served from the cache')
        t.equal(h.calls(), 2)
        if (label === 'Set-Cookie') t.match(second.headers.get('set-cookie'), /id=secret/, 'the own response keeps its cookie')
      })
    }

    t.test('concurrent waiters on an unshareable answer compute their own', async (t) => {
      const h = await harness(t, { kind, handler: async (ctx, call) => {
        await new Promise((resolve) => setTimeout(resolve, 50))
        ctx.cookies.set('id', `user-${call}`)
        ctx.body = { call }
      } })
      const replies = await Promise.all(Array.from({ length: 5 }, () => h.get('/data')))
      t.equal(new Set(replies.map((r) => r.headers.get('set-cookie'))).size, 5, 'no cookie was handed to another request')
    })

    t.test('a streamed body over maxBodyBytes is sent whole and not stored; under it, stored', async (t) => {
      const chunk = Buffer.alloc(64 * 1024, 7)
      const h = await harness(t, { kind, route: { maxBodyBytes: 100 * 1024 }, handler: (ctx) => {
        const count = Number(ctx.query.chunks)
        ctx.type = 'application/octet-stream'
        ctx.body = Readable.from(Array.from({ length: count }, () => chunk))
      } })
      const big = await h.get('/data?chunks=4')
      t.equal(big.bytes.length, 4 * chunk.length, 'the client got every byte')
      t.ok(await settled(h.cache), 'its computation ended') // so "not stored" is not just "not yet stored"
      t.equal((await h.get('/data?chunks=4')).xcache, 'MISS', 'not stored')
      const small = await h.get('/data?chunks=1')
      t.equal(small.bytes.length, chunk.length)
      t.ok(await settled(h.cache), 'the small answer was stored')
      const again = await h.get('/data?chunks=1')
      t.equal(again.xcache, 'HIT', 'a small stream is stored')
      t.ok(again.bytes.equals(small.bytes))
    })

    t.test('an entry written straight into the store is replayed only under the rules of store (issue 23)', async (t) => {
      const h = await harness(t, { kind })
      const key = `${h.namespace}:data:${bucketOf(h.clock.ms, 30)}`
      const created = h.clock.ms
      const bucket = bucketOf(h.clock.ms, 30)
      const planted: Array<[string, Parameters<typeof rawEncode>[0]]> = [
        ['set-cookie', { status: 200, headers: [['set-cookie', 'sid=attacker']], body: Buffer.from('x'), created, bucket }],
        ['transfer-encoding', { status: 200, headers: [['transfer-encoding', 'identity']], body: Buffer.from('x'), created, bucket }],
        ['status 101', { status: 101, headers: [['upgrade', 'h2c']], body: Buffer.alloc(0), created, bucket }],
      ]
      for (const [label, entry] of planted) {
        await engineOf(h.cache).store.set(key, rawEncode(entry), 60_000)
        const reply = await h.get('/data')
        t.equal(reply.xcache, 'MISS', `${label}: a miss`)
        t.equal(reply.headers.get('set-cookie'), null)
        t.equal(reply.status, 200)
        // Settled, not polled: the next planted entry must not meet this flight still holding the key.
        t.ok(await settled(h.cache))
        t.ok(decodeEntry(await engineOf(h.cache).store.get(key)) !== undefined, `${label}: overwritten by a valid entry`)
        await engineOf(h.cache).store.invalidations.delete(key)
      }
    })

    t.test('only GET and HEAD are cached', async (t) => {
      const h = await harness(t, { kind, methods: ['get', 'post'] })
      await h.get('/data', {}, 'POST')
      const post = await h.get('/data', {}, 'POST')
      t.equal(post.xcache, 'BYPASS')
      t.equal(h.calls(), 2)
      t.equal((await h.get('/data')).xcache, 'MISS', 'a POST answer never becomes the GET entry')
    })
  })
}

t.test('options are checked once, with errors that name the option', async (t) => {
  const cache = createResponseCache()
  t.teardown(() => cache.close())
  t.throws(() => cache.route({} as never), { code: 'E_OPTION', message: /route\.window/ })
  t.throws(() => cache.route({ window: -1 }), { message: /route\.window/ })
  t.throws(() => cache.route({ window: 30, stale: -1 }), { message: /route\.stale/ })
  t.throws(() => cache.route({ window: 30, query: 'a' as never }), { message: /route\.query/ })
  t.throws(() => cache.route({ window: 30, shared: true }), { message: /route\.vary/ }, 'shared needs the varied headers named')
  t.throws(() => cache.route({ window: 30, vary: ['bad header'] }), { message: /route\.vary\[0\]/ })
  t.throws(() => cache.route({ window: 30, statuses: [500] }), { message: /route\.statuses/ })
  t.throws(() => cache.route({ window: 30, maxBodyBytes: 0 }), { message: /route\.maxBodyBytes/ })
  t.throws(() => createResponseCache({ namespace: 'a:b' }), { message: /namespace/ })
  t.throws(() => createResponseCache({ operationTimeout: 0 }), { message: /operationTimeout/ })
  t.throws(() => createResponseCache({ clock: 5 as never }), { message: /clock/ })
})
