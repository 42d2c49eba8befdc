/**
 * The energy service with Redis runs the cache's in-process tier (CACHE_L1_MB, default 32 MiB):
 * repeated requests are answered from it, and /metrics and /health say so. CACHE_L1_MB=0 turns it off.
 */
import t from 'tap'
import { redisFor } from '../support/redis.js'
import { manualClock, metricSum, request, serveInProcess, waitFor } from './support.js'

t.test('with Redis, hits come from the in-process tier and /metrics counts them', async (t) => {
  const redis = await redisFor(t)
  const clock = manualClock()
  const { base } = await serveInProcess(t, { REDIS_URL: redis.url }, { clock: clock.now })
  await waitFor('the invalidation channel', async () => (await request(base, '/health')).json?.l1?.channel === 'subscribed')
  t.equal((await request(base, '/energy/gradient')).headers.get('x-cache'), 'MISS')
  await waitFor('a local copy', async () => (await request(base, '/health')).json?.l1?.entries >= 1)
  for (let i = 0; i < 5; i++) t.equal((await request(base, '/energy/gradient')).headers.get('x-cache'), 'HIT')
  const metrics = await waitFor('the hits in /metrics', async () => {
    const text = (await request(base, '/metrics')).text
    return metricSum(text, 'cache_l1_hits') >= 5 ? text : undefined
  })
  t.ok(metricSum(metrics, 'cache_l1_entries') >= 1, 'entries reported')
  t.ok(metricSum(metrics, 'cache_l1_bytes') > 0, 'bytes reported')
  t.equal(metricSum(metrics, 'cache_invalidation_messages_sent'), 0)
})

t.test('CACHE_L1_MB=0 turns the tier off', async (t) => {
  const redis = await redisFor(t)
  const { base } = await serveInProcess(t, { REDIS_URL: redis.url, CACHE_L1_MB: '0' })
  await request(base, '/energy/gradient')
  const health = await request(base, '/health')
  t.equal(health.json.l1, null)
  const metrics = (await request(base, '/metrics')).text
  t.equal(metricSum(metrics, 'cache_l1_entries') + metricSum(metrics, 'cache_l1_hits'), 0, 'no tier, nothing counted')
})
