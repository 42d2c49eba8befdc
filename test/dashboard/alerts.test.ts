/**
 * Alerts end to end: a real Redis stopped and started again, a real webhook receiver on loopback.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import type { Alert } from '../../src/dashboard/index.js'
import { eventually, quietLogger } from '../cache/harness.js'
import { redisFor, replicaPairFor } from '../support/redis.js'
import { dashboardApp } from './support.js'
import { engineOf } from '../../src/cache/engine.js'

interface Receiver {
  url: string
  bodies: Array<Record<string, unknown>>
  attempts: number
}

/** A webhook receiver that answers 500 to the first `failFirst` posts, then 204. */
async function receiver(t: Test, failFirst = 0): Promise<Receiver> {
  const state: Receiver = { url: '', bodies: [], attempts: 0 }
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      state.attempts++
      if (state.attempts <= failFirst) return void res.writeHead(500).end()
      state.bodies.push({ ...JSON.parse(body), contentType: req.headers['content-type'] })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return state
}

t.test('Redis stopped: the degraded alert fires (log, event, feed, stream, webhook) and resolves when Redis is back', async (t) => {
  const redis = await redisFor(t)
  const hook = await receiver(t, 1)
  const logger = quietLogger()
  const store = new RedisStore({ url: redis.url, logger, connectTimeout: 300 })
  t.ok(await store.ready())
  const app = await dashboardApp(t, {
    cache: { store, failureThreshold: 1, probeInterval: 200, logger },
    dashboard: { logger, evaluateMs: 3_600_000, alerts: { degraded: { forMs: 10_000 } }, webhook: { url: hook.url, timeoutMs: 2000, retries: 2, backoffMs: 50 } },
  })
  const events: Alert[] = []
  app.dashboard.on('alert', (alert: Alert) => events.push(alert))
  t.equal((await app.get('/alpha')).xcache, 'MISS')
  t.same(await app.dashboard.evaluate(), [], 'all quiet while Redis answers')

  await redis.kill()
  t.equal((await app.get('/beta')).status, 200, 'requests still answered')
  t.ok(await eventually(() => engineOf(app.cache).store.state !== 'closed'), 'the circuit opens')
  t.same(await app.dashboard.evaluate(), [], 'degraded, not yet for long')
  app.clock.advance(11_000)
  const fired = await app.dashboard.evaluate()
  t.match(fired, [{ name: 'degraded', state: 'firing', threshold: 10 }])
  t.match(events, [{ name: 'degraded', state: 'firing' }], "an 'alert' event")
  t.ok(logger.lines.some((l) => l.level === 'warn' && (l.obj as { event?: string }).event === 'alert_firing' && /alert degraded: cache store degraded/.test(l.msg ?? '')), 'one warn line')
  const view = await app.json('/dashboard/snapshot')
  t.match(view.alerts, [{ name: 'degraded', state: 'firing' }], 'shown as firing')
  t.match(view.feed[0], { kind: 'alert', message: /^degraded: cache store degraded/ })
  t.ok(view.feed.some((e: { kind: string; message: string }) => e.kind === 'circuit' && /open/.test(e.message)), 'the circuit change is in the feed')
  await app.dashboard.settled()
  t.equal(hook.attempts, 2, 'the first post got 500 and was retried')
  t.match(hook.bodies, [{ alert: 'degraded', state: 'firing', contentType: 'application/json' }])

  await redis.restart()
  t.ok(await eventually(() => engineOf(app.cache).store.state === 'closed', 15_000), 'the probe finds Redis again')
  app.clock.advance(5_000)
  t.match(await app.dashboard.evaluate(), [{ name: 'degraded', state: 'resolved' }])
  t.same((await app.json('/dashboard/snapshot')).alerts, [], 'no longer firing')
  t.ok(logger.lines.some((l) => (l.obj as { event?: string }).event === 'alert_resolved'), 'one line on resolving')
  await app.dashboard.settled()
  t.match(hook.bodies, [{ state: 'firing' }, { alert: 'degraded', state: 'resolved' }])
  t.match(events.map((e) => e.state), ['firing', 'resolved'])
})

t.test('Redis near maxmemory: the memory alert fires from the store figures health() reads', async (t) => {
  const redis = await redisFor(t)
  const store = new RedisStore({ url: redis.url, logger: quietLogger() })
  t.ok(await store.ready())
  const app = await dashboardApp(t, { cache: { store }, dashboard: { evaluateMs: 3_600_000, alerts: { memory: { above: 0.9 } } } })
  const info = await store.info()
  // A maxmemory just above what Redis uses now puts it past 90% without writing a byte.
  await store.client.config('SET', 'maxmemory', String(Math.ceil(info.memory.used * 1.05)))
  app.clock.advance(2_000)
  const fired = await app.dashboard.evaluate()
  t.match(fired, [{ name: 'memory', state: 'firing' }])
  t.ok(fired[0]!.value > 0.9)
  await store.client.config('SET', 'maxmemory', '0')
  // health() reads the store at most once a (real) second: poll until the new figure shows.
  const resolved: Alert[] = []
  t.ok(await eventually(async () => {
    app.clock.advance(2_000)
    resolved.push(...(await app.dashboard.evaluate()))
    return resolved.length > 0
  }), 'resolves once maxmemory is lifted')
  t.match(resolved, [{ name: 'memory', state: 'resolved' }])
})

t.test('a read-only Redis (a replica): computed answers not written fire readOnlyWrites', async (t) => {
  const pair = await replicaPairFor(t)
  const store = new RedisStore({ url: pair.replica.url, logger: quietLogger() })
  await store.ready()
  t.ok(await eventually(() => store.readOnly), 'the replica role is detected')
  const app = await dashboardApp(t, { cache: { store }, dashboard: { evaluateMs: 3_600_000, alerts: { readOnlyWrites: { windowMs: 60_000 } } } })
  t.same(await app.dashboard.evaluate(), [], 'nothing computed yet')
  t.equal((await app.get('/alpha')).xcache, 'MISS')
  app.clock.advance(2_000)
  const fired = await app.dashboard.evaluate()
  t.match(fired, [{ name: 'readOnlyWrites', state: 'firing', value: 1 }])
  t.match(fired[0]!.message, /^Redis is read-only \(\w+\): 1 computed answers in 60 s not written$/)
  app.clock.advance(61_000)
  t.match(await app.dashboard.evaluate(), [{ name: 'readOnlyWrites', state: 'resolved' }], 'a minute without computations')
})

t.test('a webhook that never answers: retried with backoff, then one warn line; requests never wait for it', async (t) => {
  const dead = createServer(() => {}) // accepts and never answers
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    dead.closeAllConnections()
    return new Promise((resolve) => dead.close(resolve))
  })
  let attempts = 0
  dead.on('request', () => attempts++)
  const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/`
  const app = await dashboardApp(t, { dashboard: { evaluateMs: 3_600_000, alerts: { hitRate: { below: 0.9, minLookups: 1 } }, webhook: { url, timeoutMs: 200, retries: 2, backoffMs: 20 } } })
  t.equal((await app.get('/alpha')).xcache, 'MISS')
  t.match(await app.dashboard.evaluate(), [{ name: 'hitRate', state: 'firing' }], 'evaluation returns without waiting for delivery')
  t.equal((await app.get('/alpha')).xcache, 'HIT', 'requests answered while the webhook hangs')
  await app.dashboard.settled()
  t.equal(attempts, 3, 'one post and two retries')
  t.ok(app.logger.lines.some((l) => (l.obj as { event?: string }).event === 'alert_webhook_failed'), 'given up, and said so once')
})
