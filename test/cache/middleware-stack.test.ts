/**
 * The cache among the middleware real Koa apps mount around it (issue 22), each one the real
 * package: koa-session, koa-helmet, @koa/cors, koa-compress.
 */
import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import Koa, { type Context, type Middleware } from 'koa'
import Router from '@koa/router'
import session from 'koa-session'
import helmet from 'koa-helmet'
import cors from '@koa/cors'
import compress from 'koa-compress'
import t from 'tap'
import { createResponseCache, type ResponseCache } from '../../src/index.js'
import type { RouteOptions } from '../../src/cache/options.js'
import { STORE_KINDS, TestClock, eventually, makeStore, quietLogger, type StoreKind } from './harness.js'
import { header, serve } from './stack.js'

async function newCache(kind: StoreKind, clock = new TestClock(60)): Promise<ResponseCache> {
  const logger = quietLogger()
  return createResponseCache({ store: await makeStore(kind, logger), namespace: `s${randomUUID().slice(0, 8)}`, clock: clock.now, logger })
}

/** An app with `above` mounted app-level, then a router whose one route is cache, `between`, handler. */
function app(cache: ResponseCache, route: Partial<RouteOptions>, handler: Middleware, options: { above?: (koa: Koa) => Middleware[]; between?: Middleware[] } = {}): Koa {
  const koa = new Koa()
  koa.keys = ['a test key that signs session cookies']
  for (const middleware of options.above?.(koa) ?? []) koa.use(middleware)
  const router = new Router()
  router.get('page', '/page', cache.route({ window: 60, ...route }), ...(options.between ?? []), handler)
  koa.use(router.routes())
  return koa
}

for (const kind of STORE_KINDS) {
  t.test(`${kind}: a session cookie added on the way out is never shared (item 1)`, async (t) => {
    for (const route of [{}, { shared: true, vary: ['cookie'] }] as Array<Partial<RouteOptions>>) {
      const cache = await newCache(kind)
      let calls = 0
      const get = await serve(t, app(cache, route, async (ctx) => {
        calls++
        await new Promise((resolve) => setTimeout(resolve, 30))
        ctx.session!.csrf = randomUUID()
        ctx.body = { csrf: ctx.session!.csrf }
      }, { above: (koa) => [session({}, koa)] }), cache)
      const user1 = await get('/page')
      t.match(header(user1, 'set-cookie'), /koa\.sess=/, 'user 1 gets a session cookie')
      t.notMatch(header(user1, 'cache-control'), /public/, `${JSON.stringify(route)}: an answer with Set-Cookie is not public`)
      const user2 = await get('/page')
      t.not(JSON.parse(user2.text).csrf, JSON.parse(user1.text).csrf, 'user 2 never gets user 1 token')
      t.not(user2.xcache, 'HIT')
      const crowd = await Promise.all(Array.from({ length: 5 }, () => get('/page')))
      t.equal(new Set(crowd.map((reply) => JSON.parse(reply.text).csrf)).size, 5, 'concurrent waiters compute their own')
      t.ok(crowd.every((reply) => /koa\.sess=/.test(header(reply, 'set-cookie'))), 'each with its own cookie')
      t.equal(calls, 7)
    }
  })
}

t.test('a HIT that gets a cookie from above the cache goes out private (item 1)', async (t) => {
  const cache = await newCache('memory')
  const tracker: Middleware = async (ctx, next) => {
    await next()
    if (ctx.query.track) ctx.cookies.set('visitor', randomUUID(), { signed: false })
  }
  const get = await serve(t, app(cache, {}, (ctx) => (ctx.body = { ok: true }), { above: () => [tracker] }), cache)
  t.match(header(await get('/page'), 'cache-control'), /^public/)
  const tracked = await get('/page?track=1')
  t.equal(tracked.xcache, 'MISS', 'the query is part of the key')
  t.notMatch(header(tracked, 'cache-control'), /public/, 'MISS with a cookie added above: private')
  const again = await get('/page?track=1')
  t.equal(again.xcache, 'MISS', 'and not stored')
  const plain = await get('/page')
  t.equal(plain.xcache, 'HIT')
  t.equal(header(plain, 'set-cookie'), '')
})

t.test('a HIT answered from an entry turns private when a cookie is added above the cache', async (t) => {
  const cache = await newCache('memory')
  const tracker: Middleware = async (ctx, next) => {
    await next()
    if (ctx.query.track) ctx.cookies.set('visitor', randomUUID(), { signed: false })
  }
  // query: false keeps `?track=1` on the entry of /page, so the tracked request is a HIT.
  const get = await serve(t, app(cache, { query: false }, (ctx) => (ctx.body = { ok: true }), { above: () => [tracker] }), cache)
  t.equal((await get('/page')).xcache, 'MISS')
  const tracked = await get('/page?track=1')
  t.equal(tracked.xcache, 'HIT')
  t.match(header(tracked, 'set-cookie'), /visitor=/)
  t.match(header(tracked, 'cache-control'), /^private, max-age=\d+/, 'our public Cache-Control turned private on the way out')
  t.match(header(await get('/page'), 'cache-control'), /^public/, 'the entry itself is untouched')
})

t.test('shared with Authorization only: a request with a Cookie still bypasses (item 2)', async (t) => {
  const cache = await newCache('memory')
  const get = await serve(t, app(cache, { shared: true, vary: ['authorization'] }, (ctx) => {
    ctx.body = { sid: ctx.cookies.get('sid') ?? null }
  }), cache)
  const alice = await get('/page', { authorization: 'Bearer a', cookie: 'sid=alice' })
  t.equal(JSON.parse(alice.text).sid, 'alice')
  const bob = await get('/page', { authorization: 'Bearer a', cookie: 'sid=bob' })
  t.equal(JSON.parse(bob.text).sid, 'bob', 'bob never gets alice')
  t.equal(bob.xcache, 'BYPASS')
  const none = await get('/page', { authorization: 'Bearer a' })
  t.equal(JSON.parse(none.text).sid, null, 'no cookie: never alice')
  t.equal((await get('/page', { authorization: 'Bearer a' })).xcache, 'HIT', 'the named credential is still cached')
})

t.test('every header the handler set is replayed on a HIT, but the deny-list (item 3)', async (t) => {
  const cache = await newCache('memory')
  const handler: Middleware = (ctx) => {
    if (ctx.query.moved) {
      ctx.status = 301
      ctx.redirect('/elsewhere')
      return
    }
    ctx.set('Link', '</style.css>; rel=preload; as=style')
    ctx.set('Content-Disposition', 'inline; filename="page.json"')
    ctx.set('X-Total-Count', '42')
    ctx.body = { ok: true }
  }
  const get = await serve(t, app(cache, { vary: ['origin'], statuses: [200, 301] }, handler, { between: [helmet(), cors({ origin: (ctx) => ctx.get('Origin') })] }), cache)
  const expected = ['content-security-policy', 'x-frame-options', 'x-content-type-options', 'strict-transport-security', 'link', 'content-disposition', 'x-total-count', 'access-control-allow-origin']
  const first = await get('/page', { origin: 'https://a.example' })
  const hit = await get('/page', { origin: 'https://a.example' })
  t.equal(hit.xcache, 'HIT')
  for (const name of expected) t.equal(header(hit, name), header(first, name), `${name} replayed`)
  t.equal(header(hit, 'access-control-allow-origin'), 'https://a.example')
  t.match(header(hit, 'vary'), /origin/i)
  const other = await get('/page', { origin: 'https://b.example' })
  t.equal(header(other, 'access-control-allow-origin'), 'https://b.example', 'another origin, another variant')
  await get('/page?moved=1')
  const moved = await get('/page?moved=1')
  t.equal(moved.xcache, 'HIT')
  t.equal(moved.status, 301)
  t.equal(header(moved, 'location'), '/elsewhere', 'Location on a cached 301')
})

t.test('headers set above the cache are theirs: a HIT never replays another request\'s copy (item 3)', async (t) => {
  const cache = await newCache('memory')
  let id = 0
  const requestId: Middleware = async (ctx, next) => {
    ctx.set('X-Request-Id', `req-${++id}`)
    await next()
  }
  const get = await serve(t, app(cache, {}, (ctx) => (ctx.body = { ok: true }), { above: () => [requestId, cors({ origin: (ctx) => ctx.get('Origin') })] }), cache)
  await get('/page', { origin: 'https://a.example' })
  const hit = await get('/page', { origin: 'https://b.example' })
  t.equal(hit.xcache, 'HIT')
  t.equal(header(hit, 'x-request-id'), 'req-2', 'the id of this request')
  t.equal(header(hit, 'access-control-allow-origin'), 'https://b.example', 'the CORS answer for this origin')
})

t.test('Retry-After on a cached 503 is replayed (item 3)', async (t) => {
  const cache = await newCache('memory')
  const get = await serve(t, app(cache, {}, (ctx) => {
    ctx.status = 503
    ctx.set('Retry-After', '120')
    ctx.body = 'busy'
  }), cache)
  await get('/page')
  const hit = await get('/page')
  t.equal(hit.xcache, 'HIT')
  t.equal(header(hit, 'retry-after'), '120')
})

t.test('compression below the cache: each client gets a coding it accepts (item 4)', async (t) => {
  const cache = await newCache('memory')
  const expected = { items: Array.from({ length: 50 }, (_, i) => ({ i, text: 'the same text compresses well' })) }
  let calls = 0
  const koa = new Koa()
  koa.use(cache.route({ window: 60, name: 'page' }))
  koa.use(compress({ threshold: 0 }))
  koa.use((ctx) => {
    calls++
    ctx.body = expected
  })
  const get = await serve(t, koa, cache)
  const first = await get('/page', { 'accept-encoding': 'gzip' })
  t.equal(header(first, 'content-encoding'), 'gzip')
  for (let round = 0; round < 2; round++) {
    const plain = await get('/page')
    t.equal(header(plain, 'content-encoding'), '', `round ${round}: no Accept-Encoding, no coding`)
    t.same(JSON.parse(plain.text), expected, 'readable as sent')
    const gzip = await get('/page', { 'accept-encoding': 'gzip, deflate, br' })
    const coding = header(gzip, 'content-encoding')
    t.match(coding, /^(gzip|br|deflate)$/)
    t.match(header(gzip, 'vary'), /accept-encoding/i)
    if (coding === 'gzip') t.same(JSON.parse(gunzipSync(gzip.body).toString()), expected)
    t.not(header(gzip, 'etag'), header(plain, 'etag'), 'one ETag per coding')
  }
  const reordered = await get('/page', { 'accept-encoding': 'br;q=1.0, gzip, deflate' })
  t.equal(reordered.xcache, 'HIT', 'another spelling of the same codings shares the entry')
  const gzipOnly = await get('/page', { 'accept-encoding': 'gzip' })
  t.equal(header(gzipOnly, 'content-encoding'), 'gzip')
  t.same(JSON.parse(gunzipSync(gzipOnly.body).toString()), expected)
  t.ok(calls <= 6, `a handful of computations, not one per request (${calls})`)
})

t.test('a stream the cache does not store reaches the client whole (item 5)', async (t) => {
  const chunk = Buffer.alloc(1000, 0x61)
  const cases: Array<[string, (ctx: Context) => void]> = [
    ['Cache-Control: private', (ctx) => ctx.set('Cache-Control', 'private')],
    ['status 201', (ctx) => (ctx.status = 201)],
    ['status 404', (ctx) => (ctx.status = 404)],
    ['Set-Cookie', (ctx) => ctx.cookies.set('id', 'x', { signed: false })],
    ['stored', () => undefined],
  ]
  for (const [label, mark] of cases) {
    const cache = await newCache('memory')
    const get = await serve(t, app(cache, {}, (ctx) => {
      mark(ctx)
      ctx.type = 'text/plain'
      ctx.body = Readable.from([chunk, chunk, chunk])
      if (label === 'status 201' || label === 'status 404') mark(ctx)
    }), cache)
    for (const attempt of [1, 2]) {
      const reply = await get('/page')
      t.equal(reply.body.length, 3000, `${label}, request ${attempt}: every byte`)
    }
  }
})

t.test('thrown errors: answered as Koa default handler, Retry-After kept, earlier headers cleared (item 6)', async (t) => {
  const cache = await newCache('memory')
  const get = await serve(t, app(cache, {}, (ctx) => {
    ctx.set('X-Request-Id', 'req-1')
    ctx.cookies.set('sid', 'secret', { signed: false })
    if (ctx.query.busy) ctx.throw(503, 'queue full', { headers: { 'Retry-After': '120' } })
    throw new Error('internal detail')
  }), cache)
  const busy = await get('/page?busy=1')
  t.equal(busy.status, 503)
  t.equal(busy.text, 'Service Unavailable', 'message not exposed, as Koa does for 5xx')
  t.equal(header(busy, 'retry-after'), '120', 'the error headers are kept')
  t.equal(header(busy, 'x-request-id'), '', 'headers set before the throw are cleared')
  t.equal(header(busy, 'set-cookie'), '')
  t.equal(header(busy, 'cache-control'), 'no-store')
  const again = await get('/page?busy=1')
  t.equal(again.xcache, 'HIT', 'cached for errorTtl')
  t.equal(header(again, 'retry-after'), '120')
  const failed = await get('/page')
  t.equal(failed.status, 500)
  t.equal(failed.text, 'Internal Server Error')
  t.equal(header(failed, 'content-type'), 'text/plain; charset=utf-8')
})

t.test('thrown errors reach the app error event (the app error middleware above the cache does not see them)', async (t) => {
  const cache = await newCache('memory')
  const koa = app(cache, {}, () => {
    throw new Error('boom')
  })
  const errors: unknown[] = []
  const get = await serve(t, koa, cache)
  koa.on('error', (error: unknown) => errors.push(error))
  await get('/page')
  t.equal(errors.length, 1)
  t.match(errors[0], { message: 'boom' })
})

t.test('a cold HEAD whose handler skips the body is not stored for GET (item 7)', async (t) => {
  const cache = await newCache('memory')
  const get = await serve(t, app(cache, {}, (ctx) => {
    ctx.type = 'json'
    if (ctx.method === 'HEAD') return void (ctx.status = 200)
    ctx.body = { full: true }
  }), cache)
  const head = await get('/page', {}, 'HEAD')
  t.equal(head.status, 200)
  const full = await get('/page')
  t.same(JSON.parse(full.text), { full: true }, 'the GET gets the body')
})

t.test('a successful unsafe request invalidates the route (item 7)', async (t) => {
  const cache = await newCache('memory')
  let version = 1
  const koa = new Koa()
  const router = new Router()
  const cached = cache.route({ window: 60 })
  router.get('thing', '/thing', cached, (ctx) => (ctx.body = { version }))
  router.post('thing', '/thing', cached, (ctx) => {
    if (ctx.query.fail) ctx.throw(400, 'refused')
    version++
    ctx.status = 204
  })
  router.put('thing', '/thing', cached, (ctx) => {
    version++
    ctx.status = 204
  })
  koa.use(router.routes())
  const get = await serve(t, koa, cache)
  await get('/thing')
  t.equal((await get('/thing')).xcache, 'HIT')
  await get('/thing?fail=1', {}, 'POST')
  t.equal((await get('/thing')).xcache, 'HIT', 'a failed POST invalidates nothing')
  for (const method of ['POST', 'PUT']) {
    const before = version
    t.equal((await get('/thing', {}, method)).status, 204)
    t.ok(await eventually(async () => JSON.parse((await get('/thing')).text).version === before + 1), `${method}: the next GET sees the change`)
  }
})

t.test('an app-level mount does not store unmatched paths as 404s (item 7)', async (t) => {
  const cache = await newCache('memory')
  const koa = new Koa()
  koa.use(cache.route({ window: 60, statuses: [200, 404] }))
  const router = new Router()
  router.get('/known', (ctx) => (ctx.body = 'yes'))
  router.get('/gone', (ctx) => {
    ctx.status = 404
    ctx.body = { error: 'gone' }
  })
  koa.use(router.routes())
  const get = await serve(t, koa, cache)
  t.equal((await get('/nowhere-1')).status, 404)
  t.equal((await get('/nowhere-1')).xcache, 'MISS', 'an unmatched path is not stored')
  await get('/gone')
  t.equal((await get('/gone')).xcache, 'HIT', 'a 404 a handler answered is, when the route lists it')
})
