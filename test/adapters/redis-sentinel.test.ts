import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { basic } from '../conformance/suite.js'
import { waitUntil } from '../support/probe.js'
import { canStartTopologies, sentinelFor, startSentinel } from '../support/redis.js'

if (!(await canStartTopologies())) t.plan(0, 'Sentinel needs redis-server or a Docker engine')
const shared = await startSentinel()
t.teardown(() => shared.stop())
const quiet = { warn() {} }

basic(t, { make: () => new RedisStore({ sentinels: shared.sentinels, sentinelName: shared.name, logger: quiet }) })

function track(t: Test, store: RedisStore): RedisStore {
  t.teardown(() => store.disconnect())
  return store
}

const key = (label: string): string => `sentinel-test:${label}:${randomUUID()}`

t.test('built from sentinels + sentinelName, and from REDIS_SENTINELS / REDIS_SENTINEL_NAME', async (t) => {
  const [sentinel] = shared.sentinels
  const stores = [
    track(t, new RedisStore({ sentinels: shared.sentinels, sentinelName: shared.name, logger: quiet })),
    track(
      t,
      RedisStore.fromEnv(
        { REDIS_SENTINELS: `${sentinel!.host}:${sentinel!.port}`, REDIS_SENTINEL_NAME: shared.name },
        { logger: quiet },
      ),
    ),
  ]
  for (const store of stores) {
    t.equal(await store.ready(), true)
    t.equal(store.opts.url, `redis-sentinel://${shared.name}`)
    t.equal(store.role, 'master', 'Sentinel hands out the primary')
    const k = key('set')
    t.equal(await store.set(k, 'through sentinel'), true)
    t.equal(await store.get(k), 'through sentinel')
  }
})

t.test('after the primary is killed, the same store writes again on the promoted replica', async (t) => {
  const own = await sentinelFor(t)
  const store = track(t, new RedisStore({ sentinels: own.sentinels, sentinelName: own.name, logger: quiet }))
  t.equal(await store.ready(), true)
  t.equal(await store.set(key('before'), 'x'), true)

  await own.primary.kill()
  const killed = Date.now()
  const k = key('after')
  await waitUntil('the store to write after the failover', async () => await store.set(k, 'after failover'), {
    timeoutMs: 15_000,
    intervalMs: 100,
  })
  t.pass(`writes again ${Date.now() - killed} ms after the kill`)
  t.equal(store.role, 'master')
  t.equal(store.readOnly, false)
  t.equal(await store.get(k), 'after failover')
})
