import { randomUUID } from 'node:crypto'
import t from 'tap'
import clusterKeySlot from 'cluster-key-slot'
import { keyPrefix } from '../../src/index.js'
import { clusterFor } from '../support/redis.js'
import { cli, fill, ROUTES, startApp } from './support.js'

const SLOTS_PER_MASTER = 5461

t.test('on a Redis Cluster every command sees the keys of every master', async (t) => {
  const cluster = await clusterFor(t)
  const ns = `cli${randomUUID().slice(0, 8)}`
  const app = await startApp(t, { clusterNodes: cluster.nodes }, ns)
  await fill(app, (route) => keyPrefix(ns, route, true))
  const env = { REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',') }

  const { keys } = (await cli(['-n', ns, 'keys', '--json'], { env })).json()
  t.same(keys.map((k: { route: string }) => k.route).sort(), [...ROUTES].sort(), 'hash-tagged keys read back to their routes')
  const masters = new Set(keys.map((k: { key: string }) => Math.floor(clusterKeySlot(k.key) / SLOTS_PER_MASTER)))
  t.ok(masters.size >= 2, `the keys live on ${masters.size} masters, and SCAN found them all`)

  const key = keys.find((k: { route: string }) => k.route === 'calibrate').key
  const shown = await cli(['-n', ns, 'show', key, '--json'], { env })
  t.equal(shown.code, 0, shown.stderr)
  t.equal(shown.json().windowMs, 60_000)
  t.equal(shown.json().status, 200)

  const statsRun = await cli(['-n', ns, 'stats', '--json'], { env })
  t.equal(statsRun.code, 0, statsRun.stderr)
  const stats = statsRun.json()
  t.equal(stats.keys, 3)
  for (const route of stats.routes) t.ok(route.bytes > 600, `${route.route}: MEMORY USAGE asked of the key's own master`)

  const health = (await cli(['-n', ns, 'health', '--json'], { env })).json()
  t.equal(health.role, 'cluster')
  t.equal(health.namespaceKeys, 3)

  const gone = await cli(['-n', ns, 'invalidate', 'gradient', '--json'], { env })
  t.equal(gone.code, 0, gone.stderr)
  t.equal(gone.json().removed, 1)

  const cleared = await cli(['-n', ns, 'clear', '--yes', '--json'], { env })
  t.equal(cleared.json().removed, 2, 'clear reaches every master')
  t.equal((await cli(['-n', ns, 'keys', '--json'], { env })).json().keys.length, 0)
})
