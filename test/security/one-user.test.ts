/**
 * Through the energy service, end to end: nothing one client sends outside the cache key changes
 * what another gets, and the admin routes let in the right token only (issue 10, "Security, on
 * real servers"). The energy routes are `ignoreCredentials` (issue 23): a Cookie or Authorization
 * header selects nothing, so such requests share the cached answer, and the answer stays public.
 */
import t from 'tap'
import { redisFor } from '../support/redis.js'
import { manualClock, request, serveInProcess } from '../energy/support.js'

const TOKEN = 'admin-token-0123456789'

for (const backend of ['memory', 'redis'] as const) {
  t.test(`${backend}: Host, X-Forwarded-* and credentials cannot change a cached answer`, async (t) => {
    const redis = backend === 'redis' ? await redisFor(t) : undefined
    const clock = manualClock()
    const { base, energy } = await serveInProcess(t, redis ? { REDIS_URL: redis.url } : {}, { clock: clock.now })
    if (redis) await energy.cache.clear()
    const first = await request(base, '/energy/gradient', {
      headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', 'x-forwarded-for': '10.0.0.1' },
    })
    t.equal(first.headers.get('x-cache'), 'MISS')
    t.notMatch(first.text, /evil\.example|10\.0\.0\.1/, 'nothing from those headers is in the answer')
    const clients: Array<Record<string, string>> = [
      {},
      { host: 'other.example', 'x-forwarded-host': 'other.example', 'x-forwarded-proto': 'https' },
      { authorization: 'Bearer someone' },
      { cookie: 'sid=someone-else' },
    ]
    for (const headers of clients) {
      const answer = await request(base, '/energy/gradient', { headers })
      t.equal(answer.text, first.text, `${JSON.stringify(headers)}: the same bytes`)
      t.equal(answer.headers.get('x-cache'), 'HIT')
      t.equal(answer.headers.get('set-cookie'), null, 'no cookie is ever replayed')
      t.match(answer.headers.get('cache-control'), /^public,/)
    }
  })
}

t.test('admin routes: missing, wrong and near-miss tokens are refused, the right one is not', async (t) => {
  const { base } = await serveInProcess(t, { ADMIN_TOKEN: TOKEN })
  const del = (authorization?: string) =>
    request(base, '/cache/gradient', { method: 'DELETE', headers: authorization === undefined ? {} : { authorization } })
  const refused = [
    undefined,
    '',
    'Bearer',
    `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
    `Bearer ${TOKEN.slice(0, -1)}`, // one character short
    `Bearer ${TOKEN}x`, // one character long
    `Bearer ${TOKEN.slice(0, -1)}${TOKEN.endsWith('9') ? '8' : '9'}`, // last character wrong
    `Bearer ${TOKEN.toUpperCase()}`,
    `Bearer ${TOKEN} ${TOKEN}`,
  ]
  for (const authorization of refused) {
    const answer = await del(authorization)
    t.equal(answer.status, 401, `${JSON.stringify(authorization)} is refused`)
    t.notMatch(answer.text, new RegExp(TOKEN), 'the token is never echoed')
  }
  const ok = await del(`Bearer ${TOKEN}`)
  t.equal(ok.status, 200)
  t.match(ok.json, { invalidated: 'gradient' })
})
