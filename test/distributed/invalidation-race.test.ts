/**
 * Issue 21 across processes: instance A (this test process) computes slowly,
 * instance B (a child process on the same Redis) invalidates, A finishes. The
 * next request, on A or on B, must not be served A's old answer.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { harness, eventually, quietLogger, sharedRedis, TestClock } from '../cache/harness.js'
import { Gate } from '../cache/gate.js'
import { listening, request, spawnServer } from '../energy/support.js'
import { RedisStore } from '../../adapters/redis.js'
import { clusterFor } from '../support/redis.js'
import { engineOf } from '../../src/cache/engine.js'

for (const how of ['invalidate', 'clear'] as const) {
  t.test(`across two processes: ${how}() on B wins over A's computation that started before it`, async (t) => {
    const redis = await sharedRedis()
    const namespace = `p${randomUUID().slice(0, 8)}`
    const clock = new TestClock()
    const gate = new Gate()
    const state = { version: 1 }
    const a = await harness(t, {
      kind: 'redis',
      clock,
      cache: { namespace },
      handler: async (ctx, call) => {
        const v = state.version
        if (call === 1) await gate.wait()
        ctx.body = { v, from: 'a' }
      },
    })
    const client = (engineOf(a.cache).store.primary as RedisStore).client as import('ioredis').Redis
    await client.set(`${namespace}-version`, '1')
    const peer = spawnServer(t, { PEER_REDIS_URL: redis.url, PEER_NAMESPACE: namespace, PEER_CLOCK_MS: String(clock.ms) }, {
      command: [process.execPath, '--import', 'tsx', 'test/distributed/fixtures/cache-peer.ts'],
    })
    const b = await listening(peer)

    const first = a.get('/data')
    t.ok(await eventually(() => gate.reached === 1), 'A computes with version 1')
    state.version = 2
    await client.set(`${namespace}-version`, '2')
    t.equal((await request(b.base, `/${how}`, { method: 'POST' })).status, 200, `B ran ${how}()`)
    gate.open()
    t.same(JSON.parse((await first).text), { v: 1, from: 'a' }, "A's waiting request gets A's answer")
    t.ok(await eventually(() => engineOf(a.cache).flights.size === 0), "A's store write settled")

    const onB = await request(b.base, '/data')
    t.same(onB.json, { v: 2, from: 'peer' }, "B does not serve A's old answer")
    const onA = await a.get('/data')
    t.equal(JSON.parse(onA.text).v, 2, "A does not serve its old answer either")
    peer.child.kill('SIGTERM')
  })
}

t.test('on a Redis Cluster, invalidate() and clear() win over a running computation', async (t) => {
  const cluster = await clusterFor(t)
  const store = new RedisStore({ clusterNodes: cluster.nodes, logger: quietLogger() })
  t.equal(await store.ready(), true)
  const state = { version: 1, gate: new Gate() }
  const h = await harness(t, {
    kind: 'memory',
    cache: { store },
    handler: async (ctx) => {
      const v = state.version
      if (ctx.querystring.startsWith('held') && state.gate.reached === 0) await state.gate.wait()
      ctx.body = { v }
    },
  })
  for (const how of ['invalidate', 'clear'] as const) {
    state.gate = new Gate()
    const first = h.get(`/data?held=${how}`)
    t.ok(await eventually(() => state.gate.reached === 1), `computing with version ${state.version}`)
    state.version++
    await (how === 'clear' ? h.cache.clear() : h.cache.invalidate('data'))
    state.gate.open()
    t.equal(JSON.parse((await first).text).v, state.version - 1)
    t.ok(await eventually(() => engineOf(h.cache).flights.size === 0))
    const next = await h.get(`/data?held=${how}`)
    t.equal(next.xcache, 'MISS', `${how}(): the old answer was not stored`)
    t.equal(JSON.parse(next.text).v, state.version)
  }
  // The namespace counter is checked after the write on a Cluster; the route counters, checked
  // with it, move too on clear() for every route this process has served.
  const routeCounter = `${h.namespace}!gen:{data}`
  const before = (await store.readGenerations([routeCounter]))[0]
  await h.cache.clear()
  t.not((await store.readGenerations([routeCounter]))[0], before, "clear() moves the known routes' counters too")
})
