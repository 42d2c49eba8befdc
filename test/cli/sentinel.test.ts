import { randomUUID } from 'node:crypto'
import t from 'tap'
import { keyPrefix } from '../../src/index.js'
import { sentinelFor } from '../support/redis.js'
import { cli, fill, startApp } from './support.js'

t.test('through Sentinel (REDIS_SENTINELS) the CLI finds the primary, as the service does', async (t) => {
  const sentinel = await sentinelFor(t)
  const ns = `cli${randomUUID().slice(0, 8)}`
  const app = await startApp(t, { sentinels: sentinel.sentinels, sentinelName: sentinel.name }, ns)
  await fill(app, (route) => keyPrefix(ns, route, false))
  const env = {
    REDIS_SENTINELS: sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
    REDIS_SENTINEL_NAME: sentinel.name,
  }
  const health = await cli(['-n', ns, 'health', '--json'], { env })
  t.equal(health.code, 0, health.stderr)
  t.equal(health.json().role, 'master')
  t.equal(health.json().namespaceKeys, 3)
  const gone = await cli(['-n', ns, 'invalidate', 'monitor', '--json'], { env })
  t.equal(gone.json().removed, 1)
})
