/**
 * Issue 16 item 1: requests for different resources of one route never share an entry, whichever
 * way the cache is mounted; a route's keys stay findable by prefix, whole or per resource.
 */
import { randomUUID } from 'node:crypto'
import Koa, { type Context, type Middleware } from 'koa'
import Router from '@koa/router'
import t, { type Test } from 'tap'
import { createResponseCache, type ResponseCache } from '../../src/index.js'
import type { RouteOptions } from '../../src/cache/options.js'
import { bucketOf } from '../../src/cache/keys.js'
import { makeStore, quietLogger, serveApp, settled, STORE_KINDS, TestClock, type StoreKind } from './harness.js'
import { engineOf } from '../../src/cache/engine.js'

interface App {
  cache: ResponseCache
  clock: TestClock
  namespace: string
  calls: () => number
  logger: ReturnType<typeof quietLogger>
  get(path: string): Promise<{ xcache: string | null; body: { path: string; params: unknown; call: number } }>
}

async function serve(t: Test, kind: StoreKind, mount: (app: Koa, cache: ResponseCache, handler: Middleware) => void): Promise<App> {
  const clock = new TestClock(30)
  const namespace = `r${randomUUID().slice(0, 8)}`
  const logger = quietLogger()
  const cache = createResponseCache({ store: await makeStore(kind, logger), namespace, clock: clock.now, logger })
  let calls = 0
  const handler: Middleware = (ctx: Context) => {
    calls++
    ctx.body = { path: ctx.path, params: (ctx as Context & { params?: unknown }).params ?? null, call: calls }
  }
  const app = new Koa()
  app.silent = true
  mount(app, cache, handler)
  const base = await serveApp(t, app, cache)
  return {
    cache,
    clock,
    namespace,
    logger,
    calls: () => calls,
    async get(path) {
      const response = await fetch(base + path)
      return { xcache: response.headers.get('x-cache'), body: (await response.json()) as never }
    },
  }
}

function routed(options: Partial<RouteOptions> = {}) {
  return (app: Koa, cache: ResponseCache, handler: Middleware): void => {
    const router = new Router()
    const cached = cache.route({ window: 30, ...options })
    router.get('user', '/users/:id', cached, handler)
    router.get('/api/items/:id', cached, handler)
    router.get('/m/:a/:b', cached, handler)
    router.get('/opt{/:id}', cached, handler)
    router.get('/files/*path', cached, handler)
    router.get('plain', '/energy/gradient', cached, handler)
    app.use(router.routes())
  }
}

for (const kind of STORE_KINDS) {
  t.test(`${kind}: under @koa/router, path parameters select the entry`, async (t) => {
    const app = await serve(t, kind, routed())
    const first = await app.get('/users/1')
    t.equal(first.xcache, 'MISS')
    const second = await app.get('/users/2')
    t.equal(second.xcache, 'MISS', 'another user is not the first user\'s entry')
    t.same(second.body.params, { id: '2' })
    // Writes never delay replies: each HIT below waits for the entries it needs to have landed.
    t.ok(await settled(app.cache), 'both users were stored')
    t.equal((await app.get('/users/1')).body.call, first.body.call, 'the first user is a hit')
    t.equal((await app.get('/users/%31')).xcache, 'HIT', 'a percent-encoded value is the same resource')
    t.not((await app.get('/users/%FF')).body.call, (await app.get('/users/%FE')).body.call, 'invalid escapes stay apart')
    t.equal((await app.get('/api/items/1')).xcache, 'MISS', 'an unnamed route')
    t.equal((await app.get('/api/items/2')).xcache, 'MISS')
    t.equal((await app.get('/m/x/y')).xcache, 'MISS', 'several parameters')
    t.equal((await app.get('/m/x/z')).xcache, 'MISS')
    t.equal((await app.get('/m/y/x')).xcache, 'MISS')
    t.equal((await app.get('/opt')).xcache, 'MISS', 'an optional parameter, left out')
    t.equal((await app.get('/opt/1')).xcache, 'MISS', 'and given')
    t.ok(await settled(app.cache), 'the entries were stored')
    t.equal((await app.get('/opt')).xcache, 'HIT')
    t.equal((await app.get('/files/a/b')).xcache, 'MISS', 'a wildcard')
    t.equal((await app.get('/files/a/c')).xcache, 'MISS')
    t.ok(await settled(app.cache), 'the entries were stored')
    t.equal((await app.get('/files/a/b')).xcache, 'HIT')

    const bucket = bucketOf(app.clock.now(), 30)
    await app.get('/energy/gradient')
    t.ok(await settled(app.cache), 'the entries were stored')
    t.ok(await engineOf(app.cache).store.get(`${app.namespace}:plain:${bucket}`), 'a route without parameters keeps the seed\'s key')
    t.ok(await engineOf(app.cache).store.get(`${app.namespace}:user:id=1:${bucket}`), 'the resource stands before the bucket')
  })

  t.test(`${kind}: invalidate one resource, or every resource of a route`, async (t) => {
    const app = await serve(t, kind, routed())
    for (const path of ['/users/1', '/users/2', '/api/items/1']) await app.get(path)
    // An invalidation counts stored entries and bars writes still running: let them land first.
    t.ok(await settled(app.cache), 'the entries were stored')
    t.equal(await app.cache.invalidate('user', { id: '1' }), 1, 'one resource')
    t.equal((await app.get('/users/1')).xcache, 'MISS')
    t.equal((await app.get('/users/2')).xcache, 'HIT', 'the other resource stays')
    t.ok(await settled(app.cache), 'the entries were stored')
    t.equal(await app.cache.invalidate('user', { id: 1 }), 1, 'numbers name the same resource')
    await app.get('/users/1')
    t.ok(await settled(app.cache), 'the entries were stored')
    t.equal(await app.cache.invalidate('user'), 2, 'the whole route')
    t.equal((await app.get('/users/2')).xcache, 'MISS')
    t.equal((await app.get('/api/items/1')).xcache, 'HIT', 'another route stays')
    t.equal(await app.cache.invalidate('/api/items/:id', { id: '1' }), 1, 'an unnamed route by its pattern')
  })

  t.test(`${kind}: app.use(cache.route()) keys by one name and the normalised path`, async (t) => {
    const app = await serve(t, kind, (koa, cache, handler) => {
      koa.use(cache.route({ window: 30 }))
      koa.use(handler)
    })
    const labels = new Set<string>()
    app.cache.on('lookup', (event) => labels.add(event.route))
    app.cache.on('compute', (event) => labels.add(event.route))
    const one = await app.get('/x/1')
    t.equal(one.xcache, 'MISS')
    t.ok(await settled(app.cache), 'the entries were stored')
    t.equal((await app.get('/x/%31')).body.call, one.body.call, '/x/%31 is /x/1')
    for (const other of ['/x/2', '/X/1', '/x/1/', '/x//1']) {
      t.equal((await app.get(other)).xcache, 'MISS', `${other} is a path of its own`)
    }
    t.ok(await settled(app.cache), 'the entries were stored')
    t.same([...labels], ['app'], 'one route name for every path: one metric label')
    const bucket = bucketOf(app.clock.now(), 30)
    t.ok(await engineOf(app.cache).store.get(`${app.namespace}:app:/x/1:${bucket}`), 'the path is the resource')
    t.equal(await app.cache.invalidate('app', '/x/%31'), 1, 'invalidate one path, as requested or normalised')
    t.equal((await app.get('/x/1')).xcache, 'MISS')
    t.equal((await app.get('/x/2')).xcache, 'HIT')
  })

  t.test(`${kind}: many paths outside a router keep one name`, async (t) => {
    const app = await serve(t, kind, (koa, cache, handler) => {
      koa.use(cache.route({ window: 30, name: 'pages' }))
      koa.use(handler)
    })
    const labels = new Set<string>()
    app.cache.on('compute', (event) => labels.add(event.route))
    for (let i = 0; i < 200; i++) await app.get(`/p/${i}/${'x'.repeat(i % 7)}`)
    t.same([...labels], ['pages'], 'the name option labels every path')
    t.equal(app.calls(), 200, 'every path computed once')
  })
}

t.test('router.use(cache.route()) keys by path: no two paths share an entry', async (t) => {
  const app = await serve(t, 'memory', (koa, cache, handler) => {
    const router = new Router()
    router.use(cache.route({ window: 30 }))
    router.get('user', '/users/:id', handler)
    koa.use(router.routes())
  })
  t.equal((await app.get('/users/1')).xcache, 'MISS')
  const two = await app.get('/users/2')
  t.equal(two.xcache, 'MISS', 'the parameters are not known yet in a router.use middleware: the path decides')
  t.same(two.body.params, { id: '2' })
})
