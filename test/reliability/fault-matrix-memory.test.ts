/**
 * Fault matrix, part 2 (issue 10; issue 17, item 1): the energy service under steady load while
 * its Redis is slow (DEBUG SLEEP), out of memory under noeviction, and evicting under
 * allkeys-lru. For each: no failed request, well-formed answers, back to normal by itself.
 */
import t from 'tap'
import { redisCall } from '../support/probe.js'
import { redisFor } from '../support/redis.js'
import { faultUnderLoad, pacedLoad, serviceOn } from './fault-load.js'
import { engineOf } from '../../src/cache/engine.js'

const server = await redisFor(t, { args: ['--enable-debug-command', 'yes'] })
const service = await serviceOn(t, server)
const redis = (...args: Array<string | number>) => redisCall(server.host, server.port, args as [string, ...Array<string | number>], 5000)
const stat = async (section: string, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(String(await redis('INFO', section)))?.[1])
const circuitOpened = () => service.logs.filter((l) => l.event === 'cache_store_down').length

t.test('warm-up: both endpoints cached in Redis', async (t) => {
  t.same((await pacedLoad(service.base, 1000)).failed, [])
})

t.test('DEBUG SLEEP 1: a slow command does not slow the requests', async (t) => {
  let sleeping: Promise<unknown> | undefined
  await faultUnderLoad(t, service, {
    async inject() {
      sleeping = redis('DEBUG', 'SLEEP', '1')
    },
    heal: async () => void (await sleeping),
    holdMs: 200,
  })
})

t.test('maxmemory under noeviction: reads serve, writes skipped with one warning each way, no storm', async (t) => {
  const opened = circuitOpened()
  const computed = engineOf(service.energy.cache).stats.computations
  await redis('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
  await faultUnderLoad(t, service, {
    async inject() {
      await redis('CONFIG', 'SET', 'maxmemory', '1')
      // Then empty the namespace (deletes pass under OOM): every answer is computed again, and its write refused.
      await redis('EVAL', "for _, k in ipairs(redis.call('KEYS', 'energy:*')) do redis.call('DEL', k) end", 0)
    },
    heal: async () => void (await redis('CONFIG', 'SET', 'maxmemory', '0')),
    holdMs: 1500,
  })
  const computations = engineOf(service.energy.cache).stats.computations - computed
  // Two endpoints, each at most: its miss, a refresh at a rollover, a warm-up of the next bucket.
  // Without local copies every request was a miss: ~75 in 3 s.
  t.ok(computations <= 6, `computations stay at one per key per bucket (${computations})`)
  t.equal(circuitOpened(), opened, 'the circuit never opened')
  t.equal(service.events('cache_store_writes_refused').length, 1, 'one warning when writes were refused')
  t.equal(service.events('cache_store_writes_resumed').length, 1, 'one line when they were accepted again')
})

t.test('evictions under allkeys-lru: evicted entries are computed again, nothing fails', async (t) => {
  const evicted = await stat('stats', 'evicted_keys')
  await redis('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru')
  await faultUnderLoad(t, service, {
    async inject() {
      const used = await stat('memory', 'used_memory')
      await redis('CONFIG', 'SET', 'maxmemory', used + 512 * 1024)
      // Other data pushes the cache's entries out.
      for (let i = 0; i < 200; i++) await redis('SET', `filler:${i}`, 'x'.repeat(8 * 1024))
    },
    heal: async () => void (await redis('CONFIG', 'SET', 'maxmemory', '0')),
    holdMs: 1000,
  })
  t.ok((await stat('stats', 'evicted_keys')) > evicted, 'Redis evicted keys')
  t.equal(service.events('cache_store_writes_refused').length, 1, 'evictions are not refusals')
})
