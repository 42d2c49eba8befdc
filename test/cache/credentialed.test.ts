/** Requests that bypass because of their credentials still go through single flight (issue 23, finding 1). */
import { randomUUID } from 'node:crypto'
import Koa, { type Context } from 'koa'
import t, { type Test } from 'tap'
import { createResponseCache } from '../../src/index.js'
import { eventually } from './harness.js'
import { serve, type Get } from './stack.js'

/**
 * A route whose handler waits until `release()`; `arrived` counts requests that reached the cache
 * (the cache joins them to a flight before it awaits anything), so no timing is assumed.
 */
async function gated(t: Test, answer: (ctx: Context, call: number) => void): Promise<{ get: Get; calls: () => number; arrived: () => number; release: () => void }> {
  // A clock that stands still: requests spread across a real minute boundary would fall in two
  // buckets, hence two flights, and the counts below would depend on when the test ran.
  const now = Math.floor(Date.now() / 60_000) * 60_000 + 1000
  const cache = createResponseCache({ namespace: `c${randomUUID().slice(0, 8)}`, clock: () => now })
  let calls = 0
  let arrived = 0
  let release: () => void = () => undefined
  const gate = new Promise<void>((resolve) => (release = resolve))
  const koa = new Koa()
  koa.use((ctx, next) => {
    arrived++
    return next()
  })
  koa.use(cache.route({ window: 60, name: 'data' }))
  koa.use(async (ctx) => {
    calls++
    const call = calls
    await gate
    answer(ctx, call)
  })
  return { get: await serve(t, koa, cache), calls: () => calls, arrived: () => arrived, release }
}

t.test('N concurrent requests with the same credentials cost one computation', async (t) => {
  const h = await gated(t, (ctx, call) => (ctx.body = { call, who: ctx.get('cookie') || ctx.get('authorization') }))
  const same = Promise.all(Array.from({ length: 20 }, () => h.get('/data', { cookie: 'x' })))
  const mixed = Promise.all(['a', 'b', 'a', 'b'].map((who) => h.get('/data', { authorization: who })))
  t.ok(await eventually(() => h.arrived() === 24), 'every request reached the cache')
  h.release()
  const sameReplies = await same
  const mixedReplies = await mixed
  t.equal(h.calls(), 3, 'one computation for 20 requests with Cookie: x, one per other credential')
  t.ok(sameReplies.every((reply) => reply.xcache === 'BYPASS' && reply.text === sameReplies[0]!.text), 'all got the one answer')
  t.equal(sameReplies[0]!.headers['cache-control'], undefined, 'no cache headers on a bypass')
  t.equal(mixedReplies[0]!.text, mixedReplies[2]!.text)
  t.not(mixedReplies[0]!.text, mixedReplies[1]!.text, 'never one user answer to another')
  t.equal((await h.get('/data')).xcache, 'MISS', 'nothing was stored for anonymous requests')
})

t.test('an unshareable answer is computed for each credentialed request', async (t) => {
  const h = await gated(t, (ctx, call) => {
    ctx.cookies.set('id', `user-${call}`, { signed: false })
    ctx.body = { call }
  })
  const replies = Promise.all(Array.from({ length: 4 }, () => h.get('/data', { cookie: 'x' })))
  t.ok(await eventually(() => h.arrived() === 4))
  h.release()
  t.equal(new Set((await replies).map((reply) => String(reply.headers['set-cookie']))).size, 4, 'no cookie was handed to another request')
  t.equal(h.calls(), 4)
})
