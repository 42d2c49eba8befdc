/**
 * Issue 16 items 3 and 5: after close() requests pass through quietly; compute events say what the
 * handler answered and why an answer was not stored, with typed payloads.
 */
import t from 'tap'
import type { ComputeEvent } from '../../src/index.js'
import { harness, quietLogger, STORE_KINDS } from './harness.js'
import { engineOf } from '../../src/cache/engine.js'

for (const kind of STORE_KINDS) {
  t.test(`${kind}: after close(), requests pass through uncached with no error log`, async (t) => {
    const logger = quietLogger()
    const h = await harness(t, { kind, logger })
    t.equal((await h.get('/data')).xcache, 'MISS')
    await h.cache.close()
    const after = await h.get('/data')
    t.equal(after.status, 200)
    t.equal(after.xcache, 'BYPASS')
    t.equal((await h.get('/data')).xcache, 'BYPASS')
    t.equal(h.calls(), 3, 'the handler answers every request')
    t.same(logger.lines, [], 'nothing logged: no "Connection is closed", no degraded mode')
    t.equal(engineOf(h.cache).store.state, 'closed', 'the circuit never opened')
    t.equal((await h.cache.health()).store_errors, 0)
  })

  t.test(`${kind}: after close(), invalidations refuse with E_CLOSED and health says closed`, async (t) => {
    const h = await harness(t, { kind, logger: quietLogger() })
    t.equal((await h.get('/data')).xcache, 'MISS')
    await h.cache.close()
    const closed = { name: 'CacheError', code: 'E_CLOSED' }
    await t.rejects(h.cache.clear(), closed, 'clear() does not report 0 removed as if it had run')
    await t.rejects(h.cache.invalidate('data'), closed)
    await t.rejects(h.cache.invalidateKey('x:data:1'), closed)
    t.equal((await h.cache.health()).status, 'closed')
  })
}

t.test('compute events carry the real status, and why an answer was not stored', async (t) => {
  const answers: Record<string, (ctx: Parameters<NonNullable<Parameters<typeof harness>[1]['handler']>>[0]) => void> = {
    '/data?kind=ok': (ctx) => {
      ctx.body = { ok: true }
    },
    '/data?kind=cookie': (ctx) => {
      ctx.set('Set-Cookie', 'a=1')
      ctx.body = { ok: true }
    },
    '/data?kind=missing': (ctx) => {
      ctx.status = 404
      ctx.body = { missing: true }
    },
    '/data?kind=private': (ctx) => {
      ctx.set('Cache-Control', 'private')
      ctx.body = 'x'
    },
    '/data?kind=big': (ctx) => {
      ctx.body = 'x'.repeat(2048)
    },
  }
  const h = await harness(t, {
    kind: 'memory',
    route: { maxBodyBytes: 1024 },
    handler: (ctx) => answers[`${ctx.path}?kind=${String(ctx.query.kind)}`]?.(ctx),
  })
  const events: ComputeEvent[] = []
  h.cache.on('compute', (event) => {
    // Typed payload: these lines do not compile if the event were `any` with other fields.
    const status: number | undefined = event.status
    const notStored: string | undefined = event.notStored
    events.push({ ...event, status, ...(notStored !== undefined && { notStored }) })
  })
  for (const path of Object.keys(answers)) await h.get(path)
  const seen = events.map(({ status, notStored, reason }) => ({ status, notStored, reason }))
  t.same(seen, [
    { status: 200, notStored: undefined, reason: 'miss' },
    { status: 200, notStored: 'set-cookie', reason: 'miss' },
    { status: 404, notStored: 'status-404', reason: 'miss' },
    { status: 200, notStored: 'cache-control', reason: 'miss' },
    { status: 200, notStored: 'body-too-large', reason: 'miss' },
  ])
  t.notOk(events.some((event) => event.status === 0), 'no status 0')
})
