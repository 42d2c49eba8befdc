import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { bucketOf, keyPrefix } from '../../src/index.js'
import { redisFor, replicaPairFor } from '../support/redis.js'
import { freePort } from '../support/probe.js'
import { cli, fill, ROUTES, startApp, type App } from './support.js'

const WINDOWS: Record<string, number> = { gradient: 30, monitor: 30, calibrate: 60 }

/** A Redis with a memory limit and policy to report, an app that filled it, and the CLI's env. */
async function setup(t: Test): Promise<{ app: App; env: Record<string, string>; ns: string; url: string }> {
  const server = await redisFor(t, { args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] })
  const ns = `cli${randomUUID().slice(0, 8)}`
  const app = await startApp(t, { url: server.url }, ns)
  await fill(app, (route) => keyPrefix(ns, route, false))
  return { app, env: { REDIS_URL: server.url }, ns, url: server.url }
}

t.test('keys lists what the cache wrote, by SCAN, with bucket, status and TTL', async (t) => {
  const { env, ns } = await setup(t)
  const listed = await cli(['--namespace', ns, 'keys', '--json'], { env })
  t.equal(listed.code, 0, listed.stderr)
  const { keys, truncated } = listed.json()
  t.equal(truncated, false)
  t.same(keys.map((k: { route: string }) => k.route).sort(), [...ROUTES].sort())
  for (const k of keys) {
    const bucket = bucketOf(Date.now(), WINDOWS[k.route]!)
    t.ok(k.bucket === bucket || k.bucket === bucket - 1, `${k.route} is in the current bucket`)
    t.equal(k.key, `${keyPrefix(ns, k.route, false)}${k.bucket}`, 'the key the cache built')
    t.equal(k.status, 200)
    t.ok(k.ttlMs > 0 && k.ttlMs <= 2 * WINDOWS[k.route]! * 1000 + 60_000, 'a TTL is set')
  }

  const one = (await cli(['-n', ns, 'keys', 'monitor', '--json'], { env })).json()
  t.same(one.keys.map((k: { route: string }) => k.route), ['monitor'], 'a route narrows the scan')

  const limited = (await cli(['-n', ns, 'keys', '--limit', '2', '--json'], { env })).json()
  t.equal(limited.keys.length, 2)
  t.equal(limited.truncated, true)

  const human = await cli(['-n', ns, 'keys'], { env })
  for (const k of keys) t.match(human.stdout, k.key)
  t.match(human.stdout, /3 keys/)
})

t.test('show decodes an entry; --body writes the body bytes as served', async (t) => {
  const { app, env, ns } = await setup(t)
  const { keys } = (await cli(['-n', ns, 'keys', 'gradient', '--json'], { env })).json()
  const key = keys[0].key as string
  const shown = await cli(['-n', ns, 'show', key, '--json'], { env })
  t.equal(shown.code, 0, shown.stderr)
  const entry = shown.json()
  t.equal(entry.status, 200)
  t.equal(entry.route, 'gradient')
  t.match(entry.headers['content-type'], /application\/json/)
  t.equal(entry.windowMs, 30_000, 'the window is told from the entry itself')
  t.equal(Date.parse(entry.bucketStart), entry.bucket * 30_000)
  t.ok(entry.ageMs >= 0 && entry.ttlMs > 0)
  t.equal(entry.bodyTruncated, true, 'only the start of a longer body')
  t.equal(entry.body.length, 512)

  const served = Buffer.from(await (await fetch(`${app.base}/energy/gradient`)).arrayBuffer())
  const raw = await cli(['-n', ns, 'show', key, '--body'], { env })
  t.equal(raw.code, 0)
  t.same(raw.stdoutBytes, served, 'raw bytes to a pipe, nothing else')

  const human = await cli(['-n', ns, 'show', key], { env })
  t.match(human.stdout, /status\s+200/)
  t.match(human.stdout, /--body shows all/)

  const missing = await cli(['-n', ns, 'show', `${ns}:nothing:1`], { env })
  t.equal(missing.code, 1)
  t.match(missing.stderr, /no key/)
})

t.test('stats counts keys and bytes per route and bucket, with the hit rate from --url', async (t) => {
  const { app, env, ns } = await setup(t)
  await fetch(`${app.base}/energy/gradient`).then((r) => r.arrayBuffer()) // a hit
  const ran = await cli(['-n', ns, 'stats', '--json', '--url', app.base], { env })
  t.equal(ran.code, 0, ran.stderr)
  const report = ran.json()
  t.equal(report.keys, 3)
  t.equal(report.memoryUsage.exact, true, 'a small database: every key measured')
  t.same(report.routes.map((r: { route: string }) => r.route), ['calibrate', 'gradient', 'monitor'])
  for (const route of report.routes) {
    t.equal(route.keys, 1)
    t.ok(route.bytes > 600, `${route.route}: MEMORY USAGE covers the body`)
    t.equal(route.oldestBucket, route.newestBucket)
    t.equal(route.buckets[0].bucket, route.newestBucket)
  }
  t.ok(report.service.hits >= 1, 'hits from the service')
  t.type(report.service.hit_rate, 'number')

  const sampled = (await cli(['-n', ns, 'stats', '--json', '--sample', '1'], { env })).json()
  t.equal(sampled.memoryUsage.exact, false, 'a large key space is sampled')
  t.equal(sampled.keys, 3)
  t.ok(sampled.bytes > 1800, 'unmeasured keys are estimated, not counted as nothing')

  const human = await cli(['-n', ns, 'stats', '--url', app.base], { env })
  t.match(human.stdout, /gradient/)
  t.match(human.stdout, /total: 3 keys/)
  t.match(human.stdout, /service: hit rate/)
})

t.test('invalidate goes through the cache: a route, or one key; the next request computes again', async (t) => {
  const { app, env, ns } = await setup(t)
  const gone = await cli(['-n', ns, 'invalidate', 'gradient', '--json'], { env })
  t.equal(gone.code, 0, gone.stderr)
  t.equal(gone.json().removed, 1)
  t.equal((await cli(['-n', ns, 'keys', 'gradient', '--json'], { env })).json().keys.length, 0)
  const before = app.calls.gradient
  await fetch(`${app.base}/energy/gradient`).then((r) => r.arrayBuffer())
  t.equal(app.calls.gradient, before! + 1, 'computed again')

  const { keys } = (await cli(['-n', ns, 'keys', 'monitor', '--json'], { env })).json()
  const one = await cli(['-n', ns, 'invalidate', '--key', keys[0].key], { env })
  t.equal(one.code, 0)
  t.match(one.stdout, /removed 1 keys/)
  t.equal((await cli(['-n', ns, 'keys', 'monitor', '--json'], { env })).json().keys.length, 0)

  const both = await cli(['-n', ns, 'invalidate', 'calibrate', '--key', 'x'], { env })
  t.equal(both.code, 2)
  const neither = await cli(['-n', ns, 'invalidate'], { env })
  t.equal(neither.code, 2)
})

t.test('clear asks on a terminal, refuses without one, and leaves other namespaces alone', async (t) => {
  const { env, ns, url } = await setup(t)
  const other = new Redis(url)
  t.teardown(() => other.quit())
  await other.set('someone-else:key', 'kept')

  const noTerminal = await cli(['-n', ns, 'clear'], { env })
  t.equal(noTerminal.code, 2)
  t.match(noTerminal.stderr, /--yes/)

  const declined = await cli(['-n', ns, 'clear'], { env, tty: true, input: 'n\n' })
  t.equal(declined.code, 1)
  t.match(declined.stderr, /Delete all 3 keys under/)
  t.match(declined.stderr, /nothing cleared/)
  t.equal((await cli(['-n', ns, 'keys', '--json'], { env })).json().keys.length, 3, 'no is no')

  const agreed = await cli(['-n', ns, 'clear', '--json'], { env, tty: true, input: 'y\n' })
  t.equal(agreed.code, 0, agreed.stderr)
  t.equal(agreed.json().removed, 3)
  t.equal((await cli(['-n', ns, 'keys', '--json'], { env })).json().keys.length, 0)
  t.equal(await other.get('someone-else:key'), 'kept', 'not FLUSHDB')

  const yes = await cli(['-n', ns, 'clear', '--yes'], { env })
  t.equal(yes.code, 0)
  t.match(yes.stdout, /removed 0 keys/)
})

t.test('warm requests each route once and times it', async (t) => {
  const server = await redisFor(t)
  const ns = `cli${randomUUID().slice(0, 8)}`
  const app = await startApp(t, { url: server.url }, ns)
  const env = { REDIS_URL: server.url }
  const ran = await cli(['-n', ns, 'warm', '--url', app.base, '--json'], { env })
  t.equal(ran.code, 0, ran.stderr)
  const { results } = ran.json()
  t.same(results.map((r: { path: string }) => r.path), ROUTES.map((name) => `/energy/${name}`), 'the three energy endpoints by default')
  for (const r of results) {
    t.equal(r.status, 200)
    t.equal(r.xCache, 'MISS')
    t.type(r.ms, 'number')
  }
  t.same(app.calls, { gradient: 1, monitor: 1, calibrate: 1 })

  const human = await cli(['warm', '--url', app.base, '/energy/gradient', 'energy/nope'], { env })
  t.equal(human.code, 1, 'a failing route fails the command')
  t.match(human.stdout, /\/energy\/gradient\s+200\s+(HIT|MISS)/)
  t.match(human.stdout, /\/energy\/nope\s+404/)

  const down = await cli(['warm', '--url', `http://127.0.0.1:${await freePort()}`], { env })
  t.equal(down.code, 3, 'nothing answered: unreachable')
})

t.test('health reports Redis itself, or the service with --url', async (t) => {
  const { app, env, ns } = await setup(t)
  const ran = await cli(['-n', ns, 'health', '--json'], { env })
  t.equal(ran.code, 0, ran.stderr)
  const h = ran.json()
  t.equal(h.role, 'master')
  t.equal(h.readOnly, false)
  t.type(h.pingMs, 'number')
  t.equal(h.memory.max, 64 * 2 ** 20)
  t.equal(h.memory.policy, 'allkeys-lru')
  t.ok(h.memory.used > 0)
  t.equal(h.namespaceKeys, 3)
  t.same(h.warnings, [])

  const human = await cli(['-n', ns, 'health'], { env })
  t.match(human.stdout, /eviction\s+allkeys-lru/)
  t.match(human.stdout, /of 64\.0 MiB/)

  const service = await cli(['health', '--url', app.base, '--json'], { env: {} })
  t.equal(service.code, 0, service.stderr)
  t.equal(service.json().status, 'ok')
  t.equal(service.json().httpStatus, 200)
})

t.test('exit codes: usage 2, unreachable 3, malformed REDIS_* 2', async (t) => {
  const unknown = await cli(['nope'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown command 'nope'/)
  t.match(unknown.stderr, /Usage: koa-bucket-cache/)

  const option = await cli(['keys', '--nope'])
  t.equal(option.code, 2)
  t.match(option.stderr, /Usage: koa-bucket-cache keys/)

  t.equal((await cli(['keys', '--limit', 'many'])).code, 2)
  t.equal((await cli(['--namespace', 'a:b', 'keys'])).code, 2)
  t.equal((await cli(['--redis', 'http://x', 'keys'])).code, 2)
  t.equal((await cli(['--help'])).code, 0)
  t.equal((await cli([])).code, 2, 'no command')

  const port = await freePort()
  const down = await cli(['--connect-timeout', '300', 'keys'], { env: { REDIS_URL: `redis://127.0.0.1:${port}` } })
  t.equal(down.code, 3)
  t.match(down.stderr, new RegExp(`^koa-bucket-cache: cannot reach Redis at redis://127\\.0\\.0\\.1:${port} within 300 ms \\(.*ECONNREFUSED.*\\)\\n$`), 'one clear line, with the reason')

  // Locked after start: the launcher's readiness PING would meet NOAUTH.
  const locked = await redisFor(t)
  const admin = new Redis(locked.url)
  await admin.config('SET', 'requirepass', 'sekrit')
  await admin.quit()
  const noAuth = await cli(['--connect-timeout', '500', 'health'], { env: { REDIS_URL: locked.url } })
  t.equal(noAuth.code, 3)
  t.match(noAuth.stderr, /NOAUTH/, 'says it was the password')

  const bad = await cli(['keys'], { env: { REDIS_PORT: 'eighty' } })
  t.equal(bad.code, 2)
  t.match(bad.stderr, /REDIS_PORT/)
})

t.test('on a read-only replica, health says so and invalidate refuses instead of reporting 0', async (t) => {
  const pair = await replicaPairFor(t)
  const ns = `cli${randomUUID().slice(0, 8)}`
  const app = await startApp(t, { url: pair.primary.url }, ns)
  await fill(app, (route) => keyPrefix(ns, route, false))
  const env = { REDIS_URL: pair.replica.url }
  const health = (await cli(['-n', ns, 'health', '--json'], { env })).json()
  t.equal(health.role, 'replica')
  t.equal(health.readOnly, true)
  const stats = await cli(['-n', ns, 'stats', '--json'], { env })
  t.equal(stats.code, 0, stats.stderr)
  const refused = await cli(['-n', ns, 'invalidate', 'gradient'], { env })
  t.equal(refused.code, 1)
  t.match(refused.stderr, /read-only .*primary/)
})

t.test('a Redis that fails the delete makes invalidate and clear fail, not report 0 keys', async (t) => {
  // UNLINK renamed away: SCAN finds the keys, the delete is refused.
  const server = await redisFor(t, { args: ['--rename-command', 'UNLINK', 'UNLINK-DISABLED'] })
  const ns = `cli${randomUUID().slice(0, 8)}`
  const app = await startApp(t, { url: server.url }, ns)
  await fill(app, (route) => keyPrefix(ns, route, false))
  const env = { REDIS_URL: server.url }
  const route = await cli(['-n', ns, 'invalidate', 'gradient'], { env })
  t.equal(route.code, 1)
  t.match(route.stderr, /Redis failed: .*unknown command/i)
  t.equal(route.stdout, '')
  const all = await cli(['-n', ns, 'clear', '--yes'], { env })
  t.equal(all.code, 1)
  t.equal((await cli(['-n', ns, 'keys', '--json'], { env })).json().keys.length, 3, 'nothing went')
})
