/**
 * What the service says about itself, in process: the start-up lines for each state of its cache
 * (Redis ready but read-only, Redis silent, memory with REDIS_* variables it ignores) and the debug
 * line per request.
 */
import t from 'tap'
import { redisFor } from '../support/redis.js'
import { captureLogs, manualClock, request, serveInProcess } from './support.js'

t.test('Redis ready but forced read-only: the start-up line says so', async (t) => {
  const redis = await redisFor(t)
  const log = captureLogs()
  const { base } = await serveInProcess(t, { REDIS_URL: redis.url, REDIS_READONLY: 'true' }, { logger: log.logger, clock: manualClock().now })
  const ready = log.lines().find((l) => l.event === 'redis_ready')
  t.match(ready, { level: 30, role: 'master', readOnly: true, msg: 'Redis ready (master, read-only)' })
  const answer = await request(base, '/energy/monitor')
  t.equal(answer.status, 200, 'served')
  t.equal(answer.headers.get('x-cache'), 'MISS')
})

t.test('Redis that accepts the connection and never answers: E_STORE_TIMEOUT at start-up, served from memory', async (t) => {
  const redis = await redisFor(t)
  await redis.pause() // the kernel still accepts the connection; nothing answers on it
  t.teardown(() => redis.resume())
  const log = captureLogs()
  const { base } = await serveInProcess(t, { REDIS_URL: redis.url }, { logger: log.logger, clock: manualClock().now })
  const events = log.lines().map((l) => l.event)
  t.same(events.slice(0, 3), ['cache_backend', 'redis_unreachable', 'listening'], 'said before listening')
  const unreachable = log.lines().find((l) => l.event === 'redis_unreachable')
  t.match(unreachable, { level: 40, code: 'E_STORE_TIMEOUT' }, 'classified as a timeout')
  t.match(unreachable?.msg, /^Redis did not answer at start-up \(E_STORE_TIMEOUT: .+\): serving from the in-memory fallback until it does$/)
  const answer = await request(base, '/energy/monitor')
  t.equal(answer.status, 200, 'a request is answered all the same')
})

t.test('memory cache with REDIS_* variables but no REDIS_URL/REDIS_HOST: the first line names the ignored ones', async (t) => {
  const log = captureLogs()
  await serveInProcess(t, { REDIS_PASSWORD: 'unused-secret', REDIS_DB: '3' }, { logger: log.logger })
  const first = log.lines()[0]
  t.match(first, { event: 'cache_backend', backend: 'memory', ignored: ['REDIS_DB', 'REDIS_PASSWORD'] })
  t.match(first?.msg, /set REDIS_URL or REDIS_HOST to cache in Redis \(REDIS_DB, REDIS_PASSWORD ignored without REDIS_URL or REDIS_HOST\)$/)
  t.notOk(JSON.stringify(log.lines()).includes('unused-secret'), 'the password value is not logged')
})

t.test('at debug level, one line per request with its status and cache result', async (t) => {
  const log = captureLogs('debug')
  const { base } = await serveInProcess(t, { LOG_LEVEL: 'debug' }, { logger: log.logger, clock: manualClock().now })
  await request(base, '/energy/monitor')
  await request(base, '/energy/monitor')
  await request(base, '/health')
  const lines = log.lines().filter((l) => l.event === 'request')
  t.match(lines, [
    { level: 20, method: 'GET', path: '/energy/monitor', status: 200, cache: 'MISS' },
    { path: '/energy/monitor', status: 200, cache: 'HIT' },
    { path: '/health', status: 200 },
  ])
  t.equal(lines.length, 3)
  t.notOk('cache' in (lines[2] ?? {}), 'no cache field where the cache did not answer')
  t.ok(lines.every((l) => typeof l.ms === 'number'), 'each with its duration')

  const quiet = captureLogs('info')
  const { base: other } = await serveInProcess(t, {}, { logger: quiet.logger, clock: manualClock().now })
  await request(other, '/energy/monitor')
  t.same(quiet.lines().filter((l) => l.event === 'request'), [], 'none at info level')
})
