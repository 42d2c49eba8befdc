/**
 * The headers downstream caches read (issue 20), read as a shared cache would: freshness is
 * computed from the response alone with RFC 9111's formulas (sections 4.2.1 and 4.2.3) and must
 * match the bucket the cache itself serves from.
 */
import t from 'tap'
import { STORE_KINDS, harness, eventually, settled, type Harness, type Reply } from './harness.js'
import { bucketEndMs, bucketOf } from '../../src/cache/keys.js'

interface Timed extends Reply {
  requestTime: number
  responseTime: number
}

async function timedGet(h: Harness, path: string, headers: Record<string, string> = {}): Promise<Timed> {
  const requestTime = Date.now()
  const reply = await h.get(path, headers)
  return { ...reply, requestTime, responseTime: Date.now() }
}

function directives(reply: Reply): Map<string, string | true> {
  const found = new Map<string, string | true>()
  for (const part of (reply.headers.get('cache-control') ?? '').split(',')) {
    const [name, value] = part.trim().split('=') as [string, string | undefined]
    if (name !== '') found.set(name.toLowerCase(), value ?? true)
  }
  return found
}

/** Seconds this response stays fresh in a shared cache that receives it now: lifetime minus current age. */
function freshFor(reply: Timed): { left: number; swr: number } {
  const cc = directives(reply)
  const lifetime = Number(cc.get('s-maxage') ?? cc.get('max-age'))
  const dateValue = Date.parse(reply.headers.get('date') ?? '') / 1000
  const apparentAge = Math.max(0, reply.responseTime / 1000 - dateValue)
  const responseDelay = (reply.responseTime - reply.requestTime) / 1000
  const correctedAgeValue = Number(reply.headers.get('age')) + responseDelay
  const currentAge = Math.max(apparentAge, correctedAgeValue) // resident_time 0: judged on arrival
  return { left: lifetime - currentAge, swr: Number(cc.get('stale-while-revalidate') ?? 0) }
}

/** Rounding to whole seconds (max-age down, Age up, Date to the second) costs at most this much. */
const ROUNDING_MS = 3000

for (const kind of STORE_KINDS) {
  t.test(`${kind}: max-age with Age gives downstream the time left in the bucket`, async (t) => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const h = await harness(t, { kind, handler: async (ctx, call) => {
      if (call > 1) await gate
      ctx.body = { call }
    } })
    for (const [advance, expected] of [[0, 'MISS'], [12_000, 'HIT'], [13_000, 'HIT']] as const) {
      h.clock.advance(advance)
      const reply = await timedGet(h, '/data')
      t.equal(reply.xcache, expected)
      const end = bucketEndMs(bucketOf(h.clock.ms, 30), 30_000)
      const { left } = freshFor(reply)
      t.ok(h.clock.ms + left * 1000 <= end, `${expected} at ${h.clock.ms % 30_000} ms: fresh downstream no later than the bucket end`)
      t.ok(h.clock.ms + left * 1000 > end - ROUNDING_MS, `${expected}: fresh downstream until near the bucket end (${left.toFixed(2)} s left)`)
      // The HITs need the first answer stored; a request before its write landed would wait at the gate.
      t.ok(await settled(h.cache), 'the answer was stored')
    }
    h.clock.advance(10_000) // into the next bucket: the previous answer is STALE while one refresh waits
    const stale = await timedGet(h, '/data')
    t.equal(stale.xcache, 'STALE')
    const { left, swr } = freshFor(stale)
    t.ok(left <= 0, 'a STALE answer is stale downstream too')
    const staleEnd = bucketEndMs(bucketOf(h.clock.ms, 30) - 1, 30_000) + 30_000
    t.ok(h.clock.ms + (left + swr) * 1000 <= staleEnd, 'stale-while-revalidate ends with the stale period')
    t.ok(h.clock.ms + (left + swr) * 1000 > staleEnd - ROUNDING_MS)
    release()
    t.ok(await eventually(() => h.calls() === 2))
  })
}

t.test('Vary names the varied headers, merged with the handler, on MISS, HIT, STALE and 304', async (t) => {
  const h = await harness(t, { kind: 'memory', route: { vary: ['accept-language'] }, handler: (ctx, call) => {
    ctx.vary('Origin')
    ctx.body = { call, language: ctx.get('accept-language') }
  } })
  const fr = { 'accept-language': 'fr' }
  const seen: Array<[string, Reply]> = []
  seen.push(['MISS', await h.get('/data', fr)])
  t.ok(await settled(h.cache), 'the entry was stored')
  seen.push(['HIT', await h.get('/data', fr)])
  seen.push(['304', await h.get('/data', { ...fr, 'if-none-match': seen[1]![1].headers.get('etag')! })])
  h.clock.advance(30_000)
  seen.push(['STALE', await h.get('/data', fr)])
  for (const [label, reply] of seen) {
    const vary = (reply.headers.get('vary') ?? '').toLowerCase().split(/\s*,\s*/)
    t.ok(vary.includes('accept-language') && vary.includes('origin'), `${label}: Vary ${reply.headers.get('vary')}`)
  }
  t.equal(seen[2]![1].status, 304)
  t.equal(seen[3]![1].xcache, 'STALE')
})

t.test('answers to requests with credentials are private downstream, never public', async (t) => {
  const h = await harness(t, { kind: 'memory', route: { shared: true, vary: ['authorization'] }, handler: (ctx, call) => {
    ctx.set('Cache-Control', 's-maxage=20')
    ctx.body = { call, user: ctx.get('authorization') }
  } })
  for (const user of ['Bearer a', 'Bearer b', 'Bearer a']) {
    const reply = await h.get('/data', { authorization: user })
    const cc = directives(reply)
    t.ok(cc.has('private') && !cc.has('public') && !cc.has('s-maxage'), `${reply.xcache}: ${reply.headers.get('cache-control')}`)
    t.match(reply.headers.get('vary') ?? '', /authorization/i)
  }
  t.equal(h.calls(), 2)
  t.match((await h.get('/data')).headers.get('cache-control'), /^public, max-age=\d+, s-maxage=20/, 'without credentials: public, the handler s-maxage kept')
})

t.test('a handler shorter max-age or s-maxage wins, its other directives stay', async (t) => {
  const h = await harness(t, { kind: 'memory', handler: (ctx) => {
    ctx.set('Cache-Control', String(ctx.query.cc))
    ctx.body = { ok: true }
  } })
  const short = await timedGet(h, '/data?cc=max-age%3D5%2C%20must-revalidate')
  t.equal(short.headers.get('cache-control'), 'public, max-age=5, stale-while-revalidate=30, must-revalidate')
  t.ok(await settled(h.cache), 'the entry was stored')
  h.clock.advance(3000)
  const later = await timedGet(h, '/data?cc=max-age%3D5%2C%20must-revalidate')
  t.equal(later.xcache, 'HIT')
  const { left } = freshFor(later)
  t.ok(left <= 2 && left > 2 - ROUNDING_MS / 1000, `the handler's 5 s count from the computation (${left.toFixed(2)} s left)`)
  const lifetime = Math.floor((bucketEndMs(bucketOf(h.clock.ms, 30), 30_000) - h.clock.ms) / 1000)
  const shared = await timedGet(h, '/data?cc=s-maxage%3D10')
  t.match(shared.headers.get('cache-control'), new RegExp(`^public, max-age=${lifetime}, s-maxage=10,`))
  t.ok(freshFor(shared).left <= 10, 'a shared cache reads s-maxage')
  const long = await timedGet(h, '/data?cc=max-age%3D3600')
  t.match(long.headers.get('cache-control'), new RegExp(`^public, max-age=${lifetime},`), 'a longer max-age never outlives the bucket')
})
