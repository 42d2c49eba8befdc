/**
 * docker-compose.yml run for real: Redis, its replica and the two API instances, wired as the file
 * wires them; an invalidation through one instance reaches the other's in-process tier. Building the image takes minutes, so this runs only when KBC_COMPOSE names the compose
 * command (.ci/containers.sh sets it once an engine runs and the images are built); otherwise it
 * is skipped. The stack is taken down with its volume at the end; the built image stays.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { insideBucket, ROOT } from '../energy/support.js'
import { freePort, waitUntil } from '../support/probe.js'

const exec = promisify(execFile)
const command = process.env.KBC_COMPOSE?.split(' ').filter(Boolean) ?? []

async function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await exec(file, args, { cwd: ROOT, env, maxBuffer: 16 * 2 ** 20 })
  return stdout.trim()
}

const docker = (...args: string[]) => run('docker', args)

t.test('the compose stack: health, a HIT, an invalidation seen through the other instance, Redis as configured, an unprivileged API that stops cleanly', { skip: command.length === 0 && 'KBC_COMPOSE is not set (.ci/containers.sh sets it)' }, async (t) => {
  const [file = 'docker-compose', ...prefix] = command
  // One fixed project, so the API image it builds stays as the layer cache of the next run.
  const project = 'kbc-stack'
  const [apiPort, api2Port] = [await freePort(), await freePort()]
  const adminToken = randomBytes(16).toString('hex')
  // A small population: a computation must end well inside its 30 s bucket on a busy machine, or
  // the second answer is STALE instead of a HIT.
  const env = { ...process.env, REDIS_PASSWORD: randomBytes(24).toString('hex'), API_PORT: String(apiPort), API_2_PORT: String(api2Port), ENERGY_AGENTS: '200', ADMIN_TOKEN: adminToken }
  const compose = (...args: string[]) => run(file, [...prefix, '-p', project, '-f', 'docker-compose.yml', ...args], env)
  t.teardown(() => compose('down', '--volumes', '--remove-orphans', '--timeout', '5'))
  await compose('up', '--detach', '--build')
  const id = async (service: string) => compose('ps', '-q', service)
  const [api, api2, redis, replica] = [await id('api'), await id('api-2'), await id('redis'), await id('redis-replica')]
  const base = `http://127.0.0.1:${apiPort}`
  const base2 = `http://127.0.0.1:${api2Port}`

  for (const b of [base, base2]) await waitUntil(`${b} to answer /health`, async () => (await fetch(`${b}/health`)).ok, { timeoutMs: 120_000, intervalMs: 500 })
  const health = (await (await fetch(`${base}/health`)).json()) as { backend?: string; degraded?: boolean }
  t.match(health, { backend: /redis/i, degraded: false }, 'the API caches in the Redis container')
  type Tier = { entries: number; channel: string; messages_received: number }
  const tier = async (b: string) => ((await (await fetch(`${b}/health`)).json()) as { l1?: Tier }).l1
  await waitUntil('both instances to subscribe to the invalidation channel', async () => (await tier(base))?.channel === 'subscribed' && (await tier(base2))?.channel === 'subscribed', { timeoutMs: 30_000, intervalMs: 500 })

  // Every answer below in one 30 s bucket: past a rollover a cached answer is STALE, not a HIT.
  await insideBucket(30, 20_000)
  const first = await fetch(`${base}/energy/gradient`)
  await first.arrayBuffer()
  t.equal(first.status, 200)
  const second = await fetch(`${base}/energy/gradient`)
  await second.arrayBuffer()
  t.equal(second.headers.get('x-cache'), 'HIT', `the second request is served from Redis (first: ${first.headers.get('x-cache')})`)

  // Several instances: api-2 serves what api computed and keeps it in its in-process tier; an
  // invalidation through api must reach that copy, or api-2 answers HIT with the old answer.
  const shared = await fetch(`${base2}/energy/gradient`)
  const sharedText = await shared.text()
  t.equal(shared.headers.get('x-cache'), 'HIT', 'api-2 serves the answer api computed, from Redis')
  await waitUntil('api-2 to keep it in its in-process tier', async () => ((await tier(base2))?.entries ?? 0) > 0, { timeoutMs: 10_000, intervalMs: 200 })
  const heard = (await tier(base2))!.messages_received
  const invalidated = await fetch(`${base}/cache/gradient`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } })
  t.equal(invalidated.status, 200, `DELETE /cache/gradient through api: ${await invalidated.text()}`)
  await waitUntil('api-2 to hear the invalidation', async () => (await tier(base2))!.messages_received > heard, { timeoutMs: 10_000, intervalMs: 100 })
  const after = await fetch(`${base2}/energy/gradient`)
  const afterText = await after.text()
  t.equal(after.headers.get('x-cache'), 'MISS', 'api-2 computes again instead of serving its in-process copy')
  t.not(afterText, sharedText, 'a new answer')

  const cli = (container: string, ...args: string[]) => docker('exec', container, 'redis-cli', ...args)
  t.same((await cli(redis, 'config', 'get', 'appendonly')).split('\n'), ['appendonly', 'yes'])
  t.same((await cli(redis, 'config', 'get', 'maxmemory')).split('\n'), ['maxmemory', String(256 * 2 ** 20)])
  t.same((await cli(redis, 'config', 'get', 'maxmemory-policy')).split('\n'), ['maxmemory-policy', 'allkeys-lru'])
  t.match(await docker('exec', redis, 'sh', '-c', 'unset REDISCLI_AUTH; redis-cli ping'), /NOAUTH/, 'Redis wants the password')
  t.equal(await docker('port', redis), '', 'Redis is not published')
  t.equal(await docker('port', api, '8002'), `127.0.0.1:${apiPort}`, 'the API is published on this machine only')
  t.equal(await docker('port', api2, '8002'), `127.0.0.1:${api2Port}`, 'so is the second instance')
  await waitUntil('the replica to sync', async () => (await cli(replica, 'info', 'replication')).includes('master_link_status:up'), { timeoutMs: 60_000, intervalMs: 500 })
  t.equal(await docker('inspect', '-f', '{{.State.Health.Status}}', redis), 'healthy', 'the redis-cli health check authenticates')

  // docker top runs ps on this machine, which wants the pid column; uids are as the kernel sees them.
  const processes = (await docker('top', api, '-eo', 'pid,uid,comm')).split('\n').slice(1).map((line) => line.trim().split(/\s+/).slice(1))
  const node = processes.filter(([, name]) => name === 'node')
  t.ok(node.length > 0, 'the API runs node')
  t.ok(node.every(([uid]) => uid !== '0'), `node runs as an unprivileged user (uids ${node.map(([uid]) => uid).join(', ')})`)

  const spec = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: { api: { stop_grace_period: string } } }
  const graceSeconds = Number(/^(\d+)s$/.exec(spec.services.api.stop_grace_period)?.[1])
  const stopping = performance.now()
  await docker('stop', '--time', String(graceSeconds), api)
  const seconds = (performance.now() - stopping) / 1000
  // Exit code 0, not 137: node finished its shutdown before the grace period ran out and SIGKILL came.
  t.equal(await docker('inspect', '-f', '{{.State.ExitCode}}', api), '0', 'docker stop ends the API with exit code 0')
  t.comment(`docker stop took ${seconds.toFixed(1)} s of the ${graceSeconds} s grace period`)
})
