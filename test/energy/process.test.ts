/**
 * The real server process, started as `npm start` starts it (node with tsx), against real Redis
 * and against no Redis: start-up logs, caching end to end, admin, graceful shutdown, refusal of
 * bad configuration.
 */
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { bucketOf } from '../../src/index.js'
import { lockKeyOf } from '../../src/cache/flight.js'
import { freePort } from '../support/probe.js'
import { redisFor } from '../support/redis.js'
import {
  insideBucket, listening, metricSum, request, shapeProblems, SHAPES, sleep, spawnServer, waitFor,
  type ServerProcess,
} from './support.js'

const SMALL = { PORT: '0', ENERGY_AGENTS: '48', ENERGY_THREADS: '1' }

/**
 * Time left in the real clock's 30 s bucket before the steps that must stay in one bucket (a MISS,
 * its HIT, the counts that follow): a rollover between them turns the HIT into STALE plus a second
 * computation. A few seconds here; more on a loaded CI machine, where the first computation also
 * starts the worker.
 */
const ONE_BUCKET_MS = 12_000

function everyLineIsJson(t: Test, server: ServerProcess): void {
  const bad = server.lines.filter((line) => {
    try {
      JSON.parse(line)
      return false
    } catch {
      return true
    }
  })
  t.same(bad, [], 'stdout is JSON, one line per event')
}

async function stop(t: Test, server: ServerProcess, { pid = server.pid, signal = 'SIGTERM' as NodeJS.Signals } = {}): Promise<void> {
  process.kill(pid, signal)
  const exit = await server.exited
  t.equal(exit.code, 0, `exit code 0 after ${signal}${exit.signal ? ` (killed by ${exit.signal})` : ''}`)
  const events = server.logs().map((l) => l.event)
  t.ok(events.indexOf('shutdown') >= 0 && events.indexOf('shutdown') < events.indexOf('stopped'), 'logged shutdown, then stopped')
}

t.test('without Redis: memory cache announced first, MISS then HIT, health, metrics, clean exit', async (t) => {
  const server = spawnServer(t, SMALL)
  const { base } = await listening(server)
  const first = server.logs()[0]
  t.match(first, { event: 'cache_backend', backend: 'memory', level: 30 }, 'the first log line is about the cache')
  t.match(first?.msg, /in memory \(embedded default/, 'says the cache is in memory, the embedded default')
  t.match(first?.msg, /set REDIS_URL or REDIS_HOST to cache in Redis/, 'and how to use Redis')

  await insideBucket(30, ONE_BUCKET_MS)
  const miss = await request(base, '/energy/gradient')
  t.equal(miss.status, 200)
  t.equal(miss.headers.get('x-cache'), 'MISS')
  t.same(shapeProblems(miss.json, SHAPES.gradient), [])
  const hit = await request(base, '/energy/gradient')
  t.equal(hit.headers.get('x-cache'), 'HIT')
  t.equal(hit.text, miss.text, 'identical body')

  // /health reads the store at most once a second (a snapshot shared with the dashboard): the
  // count catches up with the write within that second.
  const health = await waitFor('/health to count the entry', async () => {
    const answer = await request(base, '/health')
    return answer.json?.keys_count === 1 ? answer : undefined
  })
  t.equal(health.status, 200)
  t.match(health.json, { status: 'ok', backend: 'memory', degraded: false, keys_count: 1 })
  const metrics = (await request(base, '/metrics')).text
  t.equal(metricSum(metrics, 'http_requests_total', { route: '/energy/gradient', cache: 'MISS' }), 1)
  t.equal(metricSum(metrics, 'http_requests_total', { route: '/energy/gradient', cache: 'HIT' }), 1)
  t.equal(metricSum(metrics, 'cache_compute_duration_seconds_count', { route: 'gradient' }), 1)
  t.match(metrics, /^process_resident_memory_bytes /m)

  t.equal((await request(base, '/cache', { method: 'DELETE' })).status, 404, 'admin disabled without ADMIN_TOKEN')
  await stop(t, server)
  everyLineIsJson(t, server)
})

t.test('with Redis: Redis announced, keys as in the seed, admin, secrets kept out of the logs', async (t) => {
  const redis = await redisFor(t)
  const client = new Redis(redis.url)
  t.teardown(() => client.quit())
  await client.flushdb().catch(() => {}) // a shared TEST_REDIS_URL may hold older buckets
  const password = 'pw-' + Math.random().toString(36).slice(2)
  const token = 'tk-' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2)
  const url = new URL(redis.url)
  url.password = password // this server asks for none: ioredis warns and goes on, but it must never be logged
  const server = spawnServer(t, { ...SMALL, REDIS_URL: url.href, ADMIN_TOKEN: token, LOG_LEVEL: 'debug' })
  const { base } = await listening(server)
  t.match(server.logs()[0], { event: 'cache_backend', backend: 'redis' }, 'the first log line names the Redis cache')
  t.match(server.logs().find((l) => l.event === 'redis_ready'), { role: 'master' }, 'Redis was ready before listening')

  await insideBucket(30, ONE_BUCKET_MS)
  const miss = await request(base, '/energy/monitor')
  t.equal(miss.headers.get('x-cache'), 'MISS')
  t.same(shapeProblems(miss.json, SHAPES.monitor), [])
  const hit = await request(base, '/energy/monitor')
  t.equal(hit.headers.get('x-cache'), 'HIT')
  t.equal(hit.text, miss.text)
  const key = `energy:monitor:${bucketOf(Date.now(), 30)}`
  t.ok(await waitFor(`${key} in Redis`, async () => (await client.exists(key)) === 1), `${key} written to Redis`)
  // The lock is released after the write, and after the answer: an invalidation before that counts it too.
  await waitFor(`${key}'s lock to be released`, async () => (await client.exists(lockKeyOf(key))) === 0)

  const health = await waitFor('/health to count the entry', async () => {
    const answer = await request(base, '/health')
    return answer.json?.keys_count >= 1 ? answer : undefined
  })
  t.match(health.json, { status: 'ok', backend: 'redis', role: 'master', readOnly: false, degraded: false })
  t.ok(health.json.keys_count >= 1)

  const auth = { authorization: `Bearer ${token}` }
  t.equal((await request(base, '/cache/monitor', { method: 'DELETE' })).status, 401, 'no token: 401')
  t.equal((await request(base, '/cache/monitor', { method: 'DELETE', headers: { authorization: 'Bearer wrong' } })).status, 401)
  const invalidated = await request(base, '/cache/monitor', { method: 'DELETE', headers: auth })
  t.equal(invalidated.status, 200)
  t.equal(invalidated.json.removed, 1)
  t.equal(await client.exists(key), 0, 'the key is gone from Redis')
  t.equal((await request(base, '/energy/monitor')).headers.get('x-cache'), 'MISS', 'the next request recomputes')
  t.equal((await request(base, '/cache', { method: 'DELETE', headers: auth })).status, 200)

  await stop(t, server)
  everyLineIsJson(t, server)
  const output = server.lines.join('\n') + server.stderr()
  t.notOk(output.includes(password), 'the Redis password never appears in the output')
  t.notOk(output.includes(token), 'the admin token never appears in the output')
  t.ok(server.logs().some((l) => l.event === 'request' && l.path === '/cache'), 'debug request logs were on')
})

t.test('SIGTERM while a computation is in flight: it completes, then the process exits 0', async (t) => {
  const server = spawnServer(t, { PORT: '0', ENERGY_AGENTS: '1000', ENERGY_THREADS: '1' })
  const { base } = await listening(server)
  const inFlight = request(base, '/energy/gradient') // builds 1000 agents, then computes: over a second
  await sleep(300)
  process.kill(server.pid, 'SIGTERM')
  await waitFor('the shutdown log line', async () => server.logs().some((l) => l.event === 'shutdown'))
  await t.rejects(fetch(`${base}/health`), 'no new connections once shutting down')
  const answer = await inFlight
  t.equal(answer.status, 200, 'the in-flight request got its answer')
  t.equal(answer.headers.get('x-cache'), 'MISS')
  t.same(shapeProblems(answer.json, SHAPES.gradient), [], 'complete and well-formed')
  const { code } = await server.exited
  t.equal(code, 0)
  const events = server.logs().map((l) => l.event)
  t.same(events.slice(-2), ['shutdown', 'stopped'])
})

t.test('npm start runs the server', async (t) => {
  const server = spawnServer(t, SMALL, { command: ['npm', 'start', '--silent'], group: true })
  const { base, pid } = await listening(server)
  t.equal((await request(base, '/health')).status, 200)
  t.equal((await request(base, '/energy/calibrate')).status, 200)
  // npm hands SIGTERM to its `sh -c`, which does not pass it on; signal the server itself (see the report).
  await stop(t, server, { pid })
})

t.test('Redis unreachable at start-up: starts anyway, degraded, on the memory fallback', async (t) => {
  const port = await freePort() // nothing listens there
  const server = spawnServer(t, { ...SMALL, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) })
  const { base } = await listening(server)
  const events = server.logs().map((l) => l.event)
  t.same(events.slice(0, 3), ['cache_backend', 'redis_unreachable', 'listening'])
  for (let i = 0; i < 4; i++) t.equal((await request(base, '/energy/monitor')).status, 200)
  const health = await request(base, '/health')
  t.equal(health.status, 200)
  t.match(health.json, { backend: 'redis', degraded: true, status: 'degraded' })
  await stop(t, server, { signal: 'SIGINT' })
})

const REFUSED: Array<[string, Record<string, string>]> = [
  ['PORT', { PORT: 'abc' }],
  ['REDIS_PORT', { REDIS_PORT: '99999' }],
  ['REDIS_PORT', { REDIS_HOST: '127.0.0.1', REDIS_PORT: '99999' }],
  ['ENERGY_AGENTS', { ENERGY_AGENTS: 'lots' }],
  ['ADMIN_TOKEN', { ADMIN_TOKEN: 'a' }],
]

t.test('bad configuration: exit 1 with one line naming the variable', async (t) => {
  await Promise.all(
    REFUSED.map(async ([variable, env]) => {
      const server = spawnServer(t, env)
      const { code } = await server.exited
      const label = JSON.stringify(env)
      t.equal(code, 1, `${label}: exit code 1`)
      const stderr = server.stderr().trim()
      t.equal(stderr.split('\n').length, 1, `${label}: one line`)
      t.match(stderr, new RegExp(`^energy API not started: ${variable} must be `), `${label}: names ${variable}`)
      t.notMatch(stderr, /\n\s+at /, `${label}: no stack trace`)
      t.same(server.lines, [], `${label}: nothing started, nothing logged`)
    }),
  )
})
