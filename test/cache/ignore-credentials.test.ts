/**
 * route({ ignoreCredentials: true }): the answer does not depend on Authorization or Cookie, so
 * requests carrying them share the cache and its single flight (issue 23, finding 1).
 */
import t from 'tap'
import { eventually, harness } from './harness.js'
import { createResponseCache } from '../../src/index.js'

const CREDENTIALS: Array<Record<string, string>> = [{ cookie: 'x' }, { authorization: 'Bearer whoever' }]

t.test('credentialed requests are served from the cache and join the single flight', async (t) => {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  const h = await harness(t, {
    kind: 'memory',
    route: { ignoreCredentials: true },
    handler: async (ctx, call) => {
      await gate
      ctx.body = { call }
    },
  })
  // As in the issue: forty requests with a throwaway Cookie while nothing is cached yet.
  const pending = Array.from({ length: 40 }, (_, i) => h.get('/data', CREDENTIALS[i % 2]))
  await eventually(() => h.calls() > 0)
  release()
  const replies = await Promise.all(pending)
  t.equal(h.calls(), 1, 'forty credentialed requests cost one computation')
  t.same(new Set(replies.map((r) => r.status)), new Set([200]))
  t.same(new Set(replies.map((r) => r.text)), new Set([JSON.stringify({ call: 1 })]), 'every client got the shared answer')
  for (const headers of CREDENTIALS) {
    const reply = await h.get('/data', headers)
    t.equal(reply.xcache, 'HIT', `${Object.keys(headers)[0]}: HIT`)
    t.match(reply.headers.get('cache-control'), /^public, max-age=\d+/, 'public downstream too: the route declared credentials select nothing')
  }
  t.equal(h.calls(), 1)
})

t.test('an answer with Set-Cookie is still never stored', async (t) => {
  const h = await harness(t, {
    kind: 'memory',
    route: { ignoreCredentials: true },
    handler: (ctx, call) => {
      ctx.cookies.set('id', `secret-${call}`)
      ctx.body = { call }
    },
  })
  await h.get('/data', { cookie: 'x' })
  const second = await h.get('/data', { cookie: 'x' })
  t.not(second.xcache, 'HIT')
  t.equal(h.calls(), 2, 'each request computed its own answer')
})

t.test('without the option, credentials still bypass', async (t) => {
  const h = await harness(t, { kind: 'memory' })
  await h.get('/data')
  t.equal((await h.get('/data', { cookie: 'x' })).xcache, 'BYPASS')
})

t.test('checked when the route is built', async (t) => {
  const cache = createResponseCache()
  t.teardown(() => cache.close())
  t.throws(() => cache.route({ window: 30, ignoreCredentials: 'yes' as unknown as boolean }), { code: 'E_OPTION', option: 'route.ignoreCredentials' })
  t.throws(() => cache.route({ window: 30, ignoreCredentials: true, shared: true, vary: ['cookie'] }), { code: 'E_OPTION', option: 'route.ignoreCredentials' })
  t.doesNotThrow(() => cache.route({ window: 30, ignoreCredentials: false }))
})
