import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Cluster, Redis } from 'ioredis'
import t from 'tap'
import { detectRedisBackend, NO_REDIS_MESSAGE } from './detect.js'
import { clusterFor, redisFor, replicaPairFor, sentinelFor, canStartTopologies } from './redis.js'

const backend = await detectRedisBackend()
const topologies = await canStartTopologies()
const shared = backend === 'url'
/** Pids reported by the servers we started; only meaningful when they run on this machine. */
const pids = new Set<number>()

async function remember(host: string, port: number): Promise<void> {
  if ((await detectRedisBackend({ ignoreUrl: true })) !== 'binary') return
  const client = new Redis({ host, port, lazyConnect: true })
  await client.connect()
  const info = await client.info('server')
  client.disconnect() // not quit(): Sentinel 7.0 does not know QUIT
  const pid = /process_id:(\d+)/.exec(info)?.[1]
  if (pid) pids.add(Number(pid))
}

function client(url: string, options: { commandTimeout?: number } = {}): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, ...options })
  redis.on('error', () => {
    // expected while a server is paused or killed
  })
  return redis
}

const key = (name: string) => `support-test:${name}:${Math.random().toString(36).slice(2)}`

t.test('standalone answers PING and SET/GET', async (t) => {
  const server = await redisFor(t)
  if (!shared) await remember(server.host, server.port)
  const redis = client(server.url)
  t.teardown(() => redis.disconnect())
  t.equal(await redis.ping(), 'PONG')
  const k = key('standalone')
  await redis.set(k, 'value', 'PX', 10_000)
  t.equal(await redis.get(k), 'value')
})

t.test('pause hangs the server, resume brings it back', { skip: shared && 'TEST_REDIS_URL' }, async (t) => {
  const server = await redisFor(t)
  await remember(server.host, server.port)
  const redis = client(server.url, { commandTimeout: 200 })
  t.teardown(() => redis.disconnect())
  const k = key('pause')
  await redis.set(k, 'before')
  await server.pause()
  await t.rejects(redis.get(k), /timed out/i)
  await server.resume()
  t.equal(await redis.get(k), 'before')
})

t.test('kill refuses connections, restart serves on the same port', { skip: shared && 'TEST_REDIS_URL' }, async (t) => {
  const server = await redisFor(t)
  const { port } = server
  await server.kill()
  const refused = client(server.url)
  t.teardown(() => refused.disconnect())
  await t.rejects(refused.ping())
  await server.restart()
  t.equal(server.port, port)
  await remember(server.host, server.port)
  const redis = client(server.url)
  t.teardown(() => redis.disconnect())
  t.equal(await redis.ping(), 'PONG')
})

t.test('replica pair replicates from primary to replica', { skip: !topologies && 'no way to start servers' }, async (t) => {
  const { primary, replica } = await replicaPairFor(t)
  await remember(primary.host, primary.port)
  await remember(replica.host, replica.port)
  const writer = client(primary.url)
  const reader = client(replica.url)
  t.teardown(() => {
    writer.disconnect()
    reader.disconnect()
  })
  const k = key('replicated')
  await writer.set(k, 'copied')
  let seen: string | null = null
  for (let i = 0; i < 100 && seen === null; i++) {
    seen = await reader.get(k)
    if (seen === null) await sleep(20)
  }
  t.equal(seen, 'copied')
  const [role] = (await reader.role()) as [string]
  t.equal(role, 'slave')
})

t.test('cluster serves keys in every slot range', { skip: !topologies && 'no way to start servers' }, async (t) => {
  const { nodes } = await clusterFor(t)
  t.equal(nodes.length, 3)
  for (const node of nodes) await remember(node.host, node.port)
  const cluster = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 0 } })
  t.teardown(() => cluster.disconnect())
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => key(name))
  const slots = new Set<number>()
  for (const k of keys) {
    slots.add(Number(await cluster.call('CLUSTER', 'KEYSLOT', k)))
    await cluster.set(k, `value of ${k}`)
  }
  t.ok(slots.size > 1, 'keys land in different slots')
  for (const k of keys) t.equal(await cluster.get(k), `value of ${k}`)
  const info = String(await cluster.call('CLUSTER', 'INFO'))
  t.match(info, /cluster_state:ok/)
})

t.test('sentinel hands clients the primary', { skip: !topologies && 'no way to start servers' }, async (t) => {
  const { sentinels, name, primary, replica } = await sentinelFor(t)
  for (const s of [...sentinels, primary, replica]) await remember(s.host, s.port)
  const redis = new Redis({ sentinels, name, maxRetriesPerRequest: 0 })
  redis.on('error', () => {})
  t.teardown(() => redis.disconnect())
  const k = key('sentinel')
  await redis.set(k, 'via sentinel')
  t.equal(await redis.get(k), 'via sentinel')
  const [, port] = (await redis.config('GET', 'port')) as [string, string]
  t.equal(Number(port), primary.port, 'the sentinel pointed at the primary')
})

/** The host addresses a port is published on, by whichever running container publishes it. */
async function publishedOn(port: number): Promise<string[]> {
  const { getContainerRuntimeClient } = await import('testcontainers')
  const containers = await (await getContainerRuntimeClient()).container.list()
  return containers.flatMap((c) => c.Ports.filter((p) => p.PublicPort === port).map((p) => p.IP ?? ''))
}

t.test('containers publish on 127.0.0.1 only, and tests reach them there', { skip: backend !== 'docker' && 'Redis is not in containers' }, async (t) => {
  const server = await redisFor(t)
  const { primary } = await replicaPairFor(t)
  for (const started of [server, primary]) {
    t.equal(started.host, '127.0.0.1')
    t.same(await publishedOn(started.port), ['127.0.0.1'], `port ${started.port} is on loopback only`)
  }
})

t.test('no redis-server process is left behind', async (t) => {
  const alive = [...pids].filter((pid) => {
    try {
      process.kill(pid, 0)
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')
    } catch {
      return false
    }
  })
  t.same(alive, [], `all ${pids.size} servers are gone`)
  if (process.platform !== 'linux') return
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        const [, comm = '', rest = ''] = /\((.*)\) (.*)/.exec(stat) ?? []
        return comm.startsWith('redis-server') && rest.split(' ')[1] === String(process.pid)
      } catch {
        return false
      }
    })
  t.same(children, [], 'no child redis-server of this process')
})

t.test('without any Redis the launcher fails with one actionable line', async (t) => {
  const run = promisify(execFile)
  // no redis-server on PATH, Docker ruled out, no URL
  const env = { ...process.env, PATH: '/nonexistent', TEST_REDIS_BACKEND: 'binary', TEST_REDIS_URL: '' }
  const script = "import('./test/support/redis.ts').then((m) => m.startRedis()).catch((e) => { console.log(e.message); process.exit(3) })"
  const cwd = new URL('../..', import.meta.url)
  const result = await run(process.execPath, ['--import', 'tsx', '-e', script], { env, cwd }).catch((e: unknown) => e)
  const { code, stdout } = result as { code?: number; stdout: string }
  t.equal(code, 3)
  t.equal(stdout.trim(), NO_REDIS_MESSAGE)
  const ensure = await run(process.execPath, ['--import', 'tsx', 'test/support/ensure-redis.ts'], { env, cwd }).catch(
    (e: unknown) => e,
  )
  const { code: ensureCode, stderr } = ensure as { code?: number; stderr: string }
  t.equal(ensureCode, 1, 'ensure-redis exits 1 when it cannot install (no apt-get on PATH)')
  t.equal(stderr.trim(), NO_REDIS_MESSAGE)
})
